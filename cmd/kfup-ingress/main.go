// Command kfup-ingress is kfup's ingress proxy alone (`kfup agent ingress`, package
// components/ingress/agent): the kfup-ingress Deployment's process. It links the proxy,
// the route table and a ConfigMap watch, none of the controllers, so the proxy maps a
// binary of its own and idles in half the memory of kfup-manager. make build puts it
// beside kfup-manager, and kfup adds it to the manager image as /kfup-ingress; without it
// that path links to /kfup, which runs the same agent when invoked by that name.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	ingressagent "github.com/kfup/kfup/components/ingress/agent"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := ingressagent.NewCmd()
	cmd.Use = "kfup-ingress"
	cmd.SetArgs(os.Args[1:])
	if err := cmd.ExecuteContext(ctx); err != nil {
		os.Exit(1)
	}
}
