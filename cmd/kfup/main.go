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
	if filepath.Base(os.Args[0]) == "kubectl" {
		// installed as an MPIJob launcher's exec client (kfup agent mpi-delivery)
		os.Exit(incluster.KubectlMain(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(cli.Main(ctx, os.Args[1:], cli.System()))
}
