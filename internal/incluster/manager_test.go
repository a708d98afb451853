package incluster

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kfup/kfup/internal/errs"
)

// execute runs the kfup-manager command tree with the manager's run replaced by runF.
func execute(runF func(context.Context, *ManagerOptions) error, args ...string) error {
	root := NewRootCmd(&bytes.Buffer{}, &bytes.Buffer{})
	for _, c := range root.Commands() {
		if c.Name() == "manager" {
			root.RemoveCommand(c)
		}
	}
	root.AddCommand(NewCmdManager(func() int { return 0 }, runF))
	root.SetArgs(args)
	return root.ExecuteContext(context.Background())
}

func TestManagerOptions(t *testing.T) {
	var got *ManagerOptions
	capture := func(_ context.Context, o *ManagerOptions) error { got = o; return nil }
	err := execute(capture, "manager", "--job-workers", "8", "--stuck-pod-grace", "30s", "--leader-elect=false",
		"--cluster-domain", "cluster.local", "--pprof-bind-address", "127.0.0.1:6060", "--gang-scheduler-name", "volcano",
		"--namespace", "team-a,team-b", "--namespace", "team-c", "--memory-limit-ratio", "0.75")
	if err != nil {
		t.Fatal(err)
	}
	if got.Training.Workers != 8 || got.Training.StuckPodGrace != 30*time.Second || got.LeaderElect ||
		got.Training.ClusterDomain != "cluster.local" || got.PprofAddr != "127.0.0.1:6060" || got.Training.GangScheduler != "volcano" ||
		strings.Join(got.Namespaces, " ") != "team-a team-b team-c" || got.MemoryLimitRatio != 0.75 {
		t.Fatalf("options: %+v", got)
	}
	if err := execute(capture, "manager"); err != nil || got.Training.Workers < 1 || got.Training.StuckPodGrace <= 0 ||
		!got.LeaderElect || got.MetricsAddr != ":8080" || got.PprofAddr != "0" || got.MemoryLimitRatio != DefaultMemoryLimitRatio {
		t.Fatalf("defaults: %+v %v", got, err)
	}
}

func TestManagerRejectsBadOptions(t *testing.T) {
	for _, args := range [][]string{{"manager", "--job-workers", "0"}, {"manager", "--stuck-pod-grace", "-1s"}, {"manager", "extra"}, {"manager", "--namespace", "Team_A"},
		{"manager", "--memory-limit-ratio", "1.5"}, {"manager", "--memory-limit-ratio", "-0.1"}, {"manager", "--memory-limit-ratio", "NaN"}} {
		ran := false
		err := execute(func(context.Context, *ManagerOptions) error { ran = true; return nil }, args...)
		if errs.KindOf(err) != errs.KindUsage || ran {
			t.Errorf("%v: want a usage error before running, got %v", args, err)
		}
	}
}

func TestMainExitCodes(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main(context.Background(), []string{"nonsense"}, &out, &errOut); code != 2 {
		t.Errorf("unknown command: exit %d, want 2 (%s)", code, errOut.String())
	}
	if code := Main(context.Background(), []string{"manager", "--job-workers", "many"}, &out, &errOut); code != 2 {
		t.Errorf("bad flag value: exit %d, want 2 (%s)", code, errOut.String())
	}
	errOut.Reset()
	if code := Main(context.Background(), []string{"agent", "wait-for-host"}, &out, &errOut); code != 2 || !bytes.Contains(errOut.Bytes(), []byte("hint:")) {
		t.Errorf("wait-for-host without a host: exit %d, want 2 with a hint (%s)", code, errOut.String())
	}
	if code := Main(context.Background(), []string{"--help"}, &out, &errOut); code != 0 || !bytes.Contains(out.Bytes(), []byte("manager")) {
		t.Errorf("--help: exit %d\n%s", code, out.String())
	}
}
