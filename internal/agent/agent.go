// Package agent holds the small helpers kfup runs inside job pods, from its own image
// (`kfup agent ...`), so that job pods need no shell image from a registry: waiting for a
// peer's DNS name, and asking an Istio sidecar to quit.
package agent

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// WaitForHost looks host up until it resolves, at most tries times, interval apart.
// lookup is net.DefaultResolver.LookupHost in production.
func WaitForHost(ctx context.Context, out io.Writer, lookup func(context.Context, string) ([]string, error), host string, tries int, interval time.Duration) error {
	var last error
	for i := 0; i < tries; i++ {
		addrs, err := lookup(ctx, host)
		if err == nil && len(addrs) > 0 {
			fmt.Fprintf(out, "%s resolves to %v\n", host, addrs)
			return nil
		}
		last = err
		fmt.Fprintf(out, "waiting for %s (%d/%d): %v\n", host, i+1, tries, err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
	return fmt.Errorf("%s did not resolve after %d tries: %v", host, tries, last)
}

// DefaultLookup resolves with Go's resolver (the pod's /etc/resolv.conf).
func DefaultLookup(ctx context.Context, host string) ([]string, error) {
	return net.DefaultResolver.LookupHost(ctx, host)
}

// IstioQuitURL is the Istio agent's endpoint that stops the proxy of its pod.
const IstioQuitURL = "http://127.0.0.1:15020/quitquitquit"

// QuitSidecar POSTs to url until it answers 2xx, at most tries times, interval apart.
func QuitSidecar(ctx context.Context, out io.Writer, client *http.Client, url string, tries int, interval time.Duration) error {
	var last error
	for i := 0; i < tries; i++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				fmt.Fprintf(out, "%s: %s\n", url, resp.Status)
				return nil
			}
			err = fmt.Errorf("%s", resp.Status)
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
	return fmt.Errorf("POST %s failed %d times: %v", url, tries, last)
}
