//go:build !cse

package storage

// Without the cse build tag the driver cannot encrypt; Open refuses to start
// rather than store a secret in the clear.
const cseEnabled = false
