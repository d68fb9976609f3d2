package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
)

// The busy run (-busy): a CPU burner runs beside everything, the baseline
// included, as other work on a shared machine would. It is a process of its
// own (this program, started again with -burn), so that neither credkeep nor
// the load generator can schedule it away.

// startBurner starts a process that keeps n cores busy; stop ends it.
func startBurner(n int) (stop func(), err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-burn", fmt.Sprint(n))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // it ends with this process
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the CPU burner: %w", err)
	}
	return func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}, nil
}

// burn keeps n cores busy until the process is killed.
func burn(n int) {
	runtime.GOMAXPROCS(n)
	for range n {
		go func() {
			var sum [32]byte
			for {
				sum = sha256.Sum256(sum[:])
			}
		}()
	}
	select {} // the spinning goroutines keep it from being a deadlock
}

// defaultBurners is half the machine's cores (at least one).
func defaultBurners() int { return max(1, runtime.NumCPU()/2) }
