package controller

import (
	"strings"
	"testing"
	"time"

	"github.com/kfup/kfup/internal/apihost"
	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/internal/testenv"
)

// parse parses args into a fresh API as the manager would.
func parse(t *testing.T, args ...string) (*API, error) {
	t.Helper()
	a := NewAPI()
	return a, testenv.ParseFlags(a, args...)
}

// Upstream training-operator's flag names, unprefixed, configure the controllers.
func TestAPIFlags(t *testing.T) {
	a, err := parse(t, "--job-workers", "8", "--stuck-pod-grace", "30s", "--cluster-domain", "cluster.local",
		"--gang-scheduler-name", "volcano", "--namespace", "team-a,team-b", "--namespace", "team-c")
	if err != nil {
		t.Fatal(err)
	}
	if a.Config.Workers != 8 || a.Config.StuckPodGrace != 30*time.Second || a.Config.ClusterDomain != "cluster.local" ||
		a.Config.GangScheduler != "volcano" || strings.Join(a.Namespaces(), " ") != "team-a team-b team-c" {
		t.Fatalf("API: %+v", a)
	}
	d, err := parse(t)
	if err != nil || d.Config.Workers != DefaultWorkers || d.Config.StuckPodGrace <= 0 || d.Namespaces() != nil || d.Name() != "training" {
		t.Fatalf("defaults: %+v %v", d, err)
	}
	if n := len(d.Objects()); n != 6 {
		t.Errorf("Objects: %d kinds, want the six job kinds", n)
	}
}

func TestAPIRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--job-workers", "0"}, {"--stuck-pod-grace", "-1s"}, {"--namespace", "Team_A"}} {
		if _, err := parse(t, args...); errs.KindOf(err) != errs.KindUsage {
			t.Errorf("%v: want a usage error, got %v", args, err)
		}
	}
}

// The controllers run the job-pod helpers from the manager's image when it has one.
func TestAPIControllersUseTheManagerImage(t *testing.T) {
	a := NewAPI()
	cs, err := a.Controllers(processWithImage("kfup/manager:abc"))
	if err != nil || len(cs) != 6 {
		t.Fatalf("controllers: %d, %v", len(cs), err)
	}
	r := cs[0].(*Reconciler)
	if r.cfg.PyTorchInitImage != "kfup/manager:abc" || r.cfg.SidecarStopImage != "kfup/manager:abc" {
		t.Errorf("helper images %q, %q; want the manager's", r.cfg.PyTorchInitImage, r.cfg.SidecarStopImage)
	}
}

func processWithImage(image string) apihost.Process { return apihost.Process{Image: image} }
