package controller_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kfup/kfup/components/tuning/controller"
	"github.com/kfup/kfup/internal/testenv"
)

var env *testenv.Env

// testImage stands for kfup's image (the metrics sidecar's).
const testImage = "kfup-test:1"

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env, controller.NewAPI())) }

// fakeLogs serves canned container logs (envtest runs no kubelet): namespace/pod/container
// → log.
type fakeLogs struct {
	mu   sync.Mutex
	logs map[string]string
}

func (f *fakeLogs) set(ns, pod, container, log string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs[ns+"/"+pod+"/"+container] = log
}

func (f *fakeLogs) Logs(_ context.Context, ns, pod, container string, _ int64) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.logs[ns+"/"+pod+"/"+container]
	if !ok {
		return nil, fmt.Errorf("container %s of pod %s/%s has no log", container, ns, pod)
	}
	return io.NopCloser(strings.NewReader(l)), nil
}

// start runs the tuning controllers with canned logs until t ends.
func start(t *testing.T) *fakeLogs {
	t.Helper()
	return startFaulty(t, nil)
}

// startFaulty is start with the manager's requests going through inj (nil: no faults).
func startFaulty(t *testing.T, inj *testenv.Injector) *fakeLogs {
	t.Helper()
	logs := &fakeLogs{logs: map[string]string{}}
	cfg := controller.DefaultConfig()
	cfg.SkipNameValidation = true
	cfg.PollInterval = 200 * time.Millisecond
	cfg.Logs = logs
	cfg.Image = testImage
	cfg.DBManagerAddress = "127.0.0.1:0" // managers of several tests never share a port
	if inj != nil {
		env.StartManagerWithFaults(t, inj, &controller.API{Config: cfg})
	} else {
		env.StartManager(t, &controller.API{Config: cfg})
	}
	return logs
}
