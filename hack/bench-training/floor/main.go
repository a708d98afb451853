// Command floor is the reference point of `make bench-training`: a controller-runtime
// manager with no controllers — no informers, no caches, only the client, the probes and
// the runtime — built from kfup's own module (the controller-runtime and client-go kfup's
// manager uses). Its resident memory is what any controller built on these libraries pays
// before it watches anything; the benchmark reports each contender's memory above it.
package main

import (
	"flag"
	"fmt"
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

func main() {
	probeAddr := flag.String("health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	flag.Parse()
	if err := run(*probeAddr); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

func run(probeAddr string) error {
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: probeAddr,
	})
	if err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	return mgr.Start(ctrl.SetupSignalHandler())
}
