// Command kfup-manager is kfup's in-cluster binary: the controller manager (kfup manager),
// the job-pod helpers (kfup agent), the model server (kfup modelserver) and, invoked as
// kubectl, an MPI launcher's exec client; invoked as kfup-ingress, the ingress proxy
// (kfup agent ingress), which cmd/kfup-ingress is alone.
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
	args := os.Args[1:]
	switch filepath.Base(os.Args[0]) {
	case "kubectl":
		os.Exit(incluster.KubectlMain(ctx, args, os.Stdin, os.Stdout, os.Stderr))
	case "kfup-ingress":
		// the image's link to this binary where kfup-ingress was not built beside it
		args = append([]string{"agent", "ingress"}, args...)
	}
	os.Exit(incluster.Main(ctx, args, os.Stdout, os.Stderr, apis.InCluster(), modelserver.NewCmd(nil), incluster.AgentHelper(launch.NewCmd()), incluster.AgentHelper(ingressagent.NewCmd())))
}
