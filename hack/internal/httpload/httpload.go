// Package httpload is the load generator of kfup's HTTP benchmarks: N keep-alive clients
// repeating one request for a warm-up, then for a measured duration, reporting
// throughput and latency percentiles.
package httpload

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Result is one side's figures.
type Result struct {
	Name     string
	Requests int
	Errors   int
	Elapsed  time.Duration
	P50, P99 time.Duration
}

// RPS is the throughput.
func (r Result) RPS() float64 { return float64(r.Requests) / r.Elapsed.Seconds() }

// Load runs clients keep-alive clients, each calling do with the shared client in a
// loop, for warmup (not counted), then measures for duration. An error from do counts as
// a failed request.
func Load(ctx context.Context, name string, do func(*http.Client) error, clients int, duration, warmup time.Duration) Result {
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, DisableCompression: true}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	start := time.Now()
	measureFrom := start.Add(warmup)
	end := measureFrom.Add(duration)
	var mu sync.Mutex
	var lat []time.Duration
	errors := 0
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			var mine []time.Duration
			bad := 0
			for ctx.Err() == nil {
				t0 := time.Now()
				if t0.After(end) {
					break
				}
				err := do(c)
				if t0.Before(measureFrom) {
					continue
				}
				if err != nil {
					bad++
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			errors += bad
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(lat)
	r := Result{Name: name, Requests: len(lat), Errors: errors, Elapsed: duration}
	if len(lat) > 0 {
		r.P50 = lat[len(lat)*50/100].Round(time.Microsecond)
		r.P99 = lat[len(lat)*99/100].Round(time.Microsecond)
	}
	return r
}
