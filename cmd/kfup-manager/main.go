// Command kfup-manager is kfup's in-cluster binary: the controller manager (kfup manager),
// the job-pod helpers (kfup agent), the model server (kfup modelserver) and, invoked as kubectl, an MPI launcher's exec client.
// kfup builds its manager image from this binary when it finds it next to itself, built
// from the same source (make build puts both in bin/): it links none of the host tooling
// (kind, Helm, image building), so the manager starts smaller. Without it kfup on Linux
// uses its own binary, which has the same in-cluster commands; on macOS or Windows, point
// KFUP_MANAGER_BINARY at a linux build of this command.
package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/kfup/kfup/apis"
	ingressagent "github.com/kfup/kfup/components/ingress/agent"
	"github.com/kfup/kfup/components/pipelines/launch"
	"github.com/kfup/kfup/components/serving/modelserver"
	"github.com/kfup/kfup/internal/incluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if filepath.Base(os.Args[0]) == "kubectl" {
		os.Exit(incluster.KubectlMain(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(incluster.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, apis.InCluster(), modelserver.NewCmd(nil), incluster.AgentHelper(launch.NewCmd()), incluster.AgentHelper(ingressagent.NewCmd())))
}
