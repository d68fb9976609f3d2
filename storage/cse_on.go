//go:build cse

package storage

const cseEnabled = true
