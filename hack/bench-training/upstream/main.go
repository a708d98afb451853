// Command training-operator runs the controllers of the upstream Kubeflow Training
// Operator v1.9 (github.com/kubeflow/training-operator, pinned in this module's go.mod)
// for `make bench-training`. It is a separate module so that kfup's own go.mod stays free
// of the upstream operator and its dependencies.
//
// It sets the controllers up the way upstream's cmd/training-operator.v1 does with its
// default flags — every job kind, no gang scheduling, one worker per controller, a client
// rate limit of 20 QPS with a burst of 30 — and leaves out only the admission webhooks
// (and the certificate rotation they need): the benchmark API server has no route to a
// webhook, and webhooks do not create pods or services.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"sort"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/util/flowcontrol"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	schedulerpluginsv1alpha1 "sigs.k8s.io/scheduler-plugins/apis/scheduling/v1alpha1"
	volcanov1beta1 "volcano.sh/apis/pkg/apis/scheduling/v1beta1"

	kubeflowv1 "github.com/kubeflow/training-operator/pkg/apis/kubeflow.org/v1"
	"github.com/kubeflow/training-operator/pkg/config"
	controllerv1 "github.com/kubeflow/training-operator/pkg/controller.v1"
	"github.com/kubeflow/training-operator/pkg/controller.v1/common"
)

func main() {
	var (
		probeAddr   string
		threads     int
		qps, burst  int
		verboseLogs bool
	)
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	flag.IntVar(&threads, "controller-threads", 1, "workers per controller (upstream's default: 1)")
	flag.IntVar(&qps, "kube-api-qps", 20, "client QPS (upstream's default: 20)")
	flag.IntVar(&burst, "kube-api-burst", 30, "client burst (upstream's default: 30)")
	flag.BoolVar(&verboseLogs, "v", false, "log every reconcile")
	// the job-pod settings upstream's flags default to
	config.Config.PyTorchInitContainerImage = config.PyTorchInitContainerImageDefault
	config.Config.PyTorchInitContainerTemplateFile = config.PyTorchInitContainerTemplateFileDefault
	config.Config.PyTorchInitContainerMaxTries = config.PyTorchInitContainerMaxTriesDefault
	config.Config.MPIKubectlDeliveryImage = config.MPIKubectlDeliveryImageDefault
	flag.Parse()
	if err := run(probeAddr, threads, qps, burst, verboseLogs); err != nil {
		fmt.Fprintln(os.Stderr, "training-operator:", err)
		os.Exit(1)
	}
}

func run(probeAddr string, threads, qps, burst int, verboseLogs bool) error {
	opts := zap.Options{Development: verboseLogs}
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))

	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, kubeflowv1.AddToScheme,
		volcanov1beta1.AddToScheme, schedulerpluginsv1alpha1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			return err
		}
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return err
	}
	cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(float32(qps), burst)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: probeAddr,
	})
	if err != nil {
		return err
	}
	kinds := make([]string, 0, len(controllerv1.SupportedSchemeReconciler))
	for kind := range controllerv1.SupportedSchemeReconciler {
		kinds = append(kinds, kind)
	}
	sort.Strings(kinds)
	for _, kind := range kinds {
		setup := controllerv1.SupportedSchemeReconciler[kind]
		if err := setup(mgr, common.GenNonGangSchedulerSetupFunc(), threads); err != nil {
			return fmt.Errorf("set up the %s controller: %w", kind, err)
		}
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	// Ready once the informer caches have synced, as kfup's manager is, so that both
	// contenders start the clock from the same point.
	if err := mgr.AddReadyzCheck("caches", func(req *http.Request) error {
		if !mgr.GetCache().WaitForCacheSync(req.Context()) {
			return fmt.Errorf("caches not synced")
		}
		return nil
	}); err != nil {
		return err
	}
	return mgr.Start(ctrl.SetupSignalHandler())
}
