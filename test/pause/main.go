// The node's pause (sandbox) image for the test harness's real node (test/helpers/node.ts): PID 1 of every pod
// sandbox, it holds the pod's namespaces, reaps the children it inherits and exits on SIGTERM or SIGINT. The usual
// registry.k8s.io/pause is not reachable from these machines; this is built here instead (scripts/install-tools.sh).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 8)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for s := range sig {
		if s != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
