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

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env, controller.NewAPI())) }

// fakeLogs serves canned container logs (envtest runs no kubelet): pod name → log.
type fakeLogs struct {
	mu   sync.Mutex
	logs map[string]string
}

func (f *fakeLogs) set(ns, pod, log string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs[ns+"/"+pod] = log
}

func (f *fakeLogs) Logs(_ context.Context, ns, pod, _ string, _ int64) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.logs[ns+"/"+pod]
	if !ok {
		return nil, fmt.Errorf("pod %s/%s has no log", ns, pod)
	}
	return io.NopCloser(strings.NewReader(l)), nil
}

// start runs the tuning controllers with canned logs until t ends.
func start(t *testing.T) *fakeLogs {
	t.Helper()
	logs := &fakeLogs{logs: map[string]string{}}
	cfg := controller.DefaultConfig()
	cfg.SkipNameValidation = true
	cfg.PollInterval = 200 * time.Millisecond
	cfg.Logs = logs
	env.StartManager(t, &controller.API{Config: cfg})
	return logs
}
