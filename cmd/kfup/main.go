// Command kfup creates a local Kubernetes cluster and installs a lightweight implementation
// of the Kubeflow APIs onto it. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/kfup/kfup/cmd/kfup/internal/cli"
	"github.com/kfup/kfup/internal/incluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default action: a second Ctrl-C kills at once.
		<-ctx.Done()
		stop()
	}()
	args := os.Args[1:]
	switch filepath.Base(os.Args[0]) {
	case "kubectl":
		// installed as an MPIJob launcher's exec client (kfup agent mpi-delivery)
		os.Exit(incluster.KubectlMain(ctx, args, os.Stdin, os.Stdout, os.Stderr))
	case "kfup-ingress":
		// the manager image's link to this binary, where it is the manager's and no
		// kfup-ingress was built beside it: the ingress proxy
		args = append([]string{"agent", "ingress"}, args...)
	}
	os.Exit(cli.Main(ctx, args, cli.System()))
}
