package apihost_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"

	"github.com/kfup/kfup/internal/apihost"
	"github.com/kfup/kfup/internal/testcert"
	"github.com/kfup/kfup/internal/testenv"
)

// hooked is an API slice with one webhook and no controllers.
type hooked struct{}

func (hooked) Name() string                                              { return "hooked" }
func (hooked) AddToScheme(*runtime.Scheme) error                         { return nil }
func (hooked) AddFlags(*pflag.FlagSet)                                   {}
func (hooked) Validate() error                                           { return nil }
func (hooked) Namespaces() []string                                      { return nil }
func (hooked) Objects() []client.Object                                  { return nil }
func (hooked) Controllers(apihost.Process) ([]apihost.Controller, error) { return nil, nil }
func (hooked) Webhooks(manager.Manager) ([]apihost.Webhook, error) {
	return []apihost.Webhook{{Path: "/validate-hooked", Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "hooked")
	})}}, nil
}

// freePort returns a port nothing listens on (for a moment).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// selfSigned writes a certificate for 127.0.0.1 as tls.crt and tls.key into dir and
// returns a pool trusting it.
func selfSigned(t *testing.T, dir string) *x509.CertPool {
	t.Helper()
	pair := testcert.New(t, "127.0.0.1")
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), pair.Chain, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pair.Key, 0o600); err != nil {
		t.Fatal(err)
	}
	return pair.Pool
}

// The manager process serves a slice's webhooks on the webhook port, over TLS, and is
// Ready only once it does.
func TestRunServesWebhooks(t *testing.T) {
	if testing.Short() {
		t.Skip("needs an API server: the integration tier")
	}
	env, err := testenv.StartWith(testenv.Options{WithoutCRDs: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	dir := t.TempDir()
	roots := selfSigned(t, dir)
	hookPort, probePort := freePort(t), freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- apihost.Run(ctx, env.Config, apihost.Options{
			MetricsAddr: "0", ProbeAddr: fmt.Sprintf("127.0.0.1:%d", probePort), WebhookPort: hookPort, WebhookCertDir: dir,
		}, hooked{})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("the manager did not stop")
		}
	})
	get := func(c *http.Client, url string) (int, string, error) {
		resp, err := c.Get(url)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _, err := get(http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d/readyz", probePort))
		if err == nil && code == http.StatusOK {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("the manager stopped: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 30s: %d %v", code, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	code, body, err := get(c, fmt.Sprintf("https://127.0.0.1:%d/validate-hooked", hookPort))
	if err != nil || code != http.StatusOK || body != "hooked" {
		t.Fatalf("the webhook answered %d %q (%v)", code, body, err)
	}
}
