package cli

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/internal/testenv"
	"github.com/kfup/kfup/internal/ui"
)

// TestDashboardCommandServes runs the real `kfup dashboard` wiring against envtest (the
// integration tier): the cluster as kfup recorded it, the informers, the listener on
// 127.0.0.1, the login URL handed to the browser, a page and the event stream, and a
// clean stop when the context ends.
func TestDashboardCommandServes(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a real API server (integration tier)")
	}
	e, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = e.Stop() }()
	f, out, _ := testFactory(t)
	store := bootstrap.Store{Dir: t.TempDir()}
	if err := store.Save(&bootstrap.Record{Name: "kfup", Provider: "kind", Phase: bootstrap.PhaseReady, Context: "kfup-kfup", HTTPPort: 1}); err != nil {
		t.Fatal(err)
	}
	f.Env = func() (*bootstrap.Env, error) {
		return &bootstrap.Env{Out: ui.New(&strings.Builder{}, ui.Options{}), Store: store, REST: e.Config}, nil
	}
	opened := make(chan string, 1)
	f.OpenBrowser = func(url string) error { opened <- url; return nil }

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runDashboard(ctx, f, &DashboardOptions{Name: "kfup", Namespace: "default"}) }()
	var url string
	select {
	case url = <-opened:
	case err := <-done:
		t.Fatalf("kfup dashboard stopped: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("kfup dashboard did not open a browser within 60s")
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.Contains(url, "/login?token=") || !strings.Contains(out.String(), url) {
		t.Fatalf("opened %q; stdout %q", url, out.String())
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := browser.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	var page strings.Builder
	_, _ = bufio.NewReader(resp.Body).WriteTo(&page)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/ns/default/" || !strings.Contains(page.String(), "Training jobs") {
		t.Fatalf("login led to %s (%d):\n%s", resp.Request.URL, resp.StatusCode, page.String())
	}
	base := strings.SplitN(url, "/login", 2)[0]
	ev, err := browser.Get(base + "/events?ns=default")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("events: %s %q", ev.Status, ev.Header.Get("Content-Type"))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("kfup dashboard returned %v after Ctrl-C", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("kfup dashboard did not stop within 10s of its context")
	}
	ev.Body.Close()
	// stopped: nothing answers on the port any more
	if resp, err := http.Get(url); err == nil {
		resp.Body.Close()
		t.Errorf("the server still answers after the stop: %s", resp.Status)
	}
}
