// Command bench-training measures kfup's training controllers against the upstream
// Kubeflow Training Operator v1.9 on one envtest API server (kube-apiserver + etcd, no
// kubelet: pods stay Pending, which is all this measures). For each contender it starts
// the controller as its own process, creates N PyTorchJobs (1 master + 1 worker) in a
// namespace of its own, and records
//
//   - the wall time from the first create until every job's 2 pods and 2 services exist;
//   - the process's peak resident memory (VmHWM from /proc), and what its resident memory
//     is made of at the end: anonymous (heap, stacks: the state the controller keeps) and
//     file-backed (the pages of its own executable).
//
// Before them it starts the reference point, an empty controller-runtime manager (./floor:
// no controllers, built from kfup's module), and reports each contender's peak above that
// floor as well: the memory a controller's own work costs, which a design can change,
// apart from what the Go runtime and the client libraries cost any controller.
//
// Between contenders every job, pod and service of the first run is deleted, so that the
// second controller's caches start from the same empty cluster. Run it with
// `make bench-training`; the upstream controller is built from the Go module proxy by the
// separate module in ./upstream.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/apis"
	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/builders"
	"github.com/kfup/kfup/internal/testenv"
)

// contender is one controller binary under test.
type contender struct {
	name string
	args []string
}

// result is what one contender's run measured.
type result struct {
	name       string
	created    time.Duration // until the driver had created every job
	done       time.Duration // until every pod and service existed
	idleRSSKiB int64         // once ready, before any job
	peakRSSKiB int64
	// the resident set once every pod and service existed, split
	anonKiB, fileKiB int64
}

func main() {
	kfupBin := flag.String("kfup", "bin/kfup-manager", "kfup binary with the manager command (kfup-manager, or kfup itself)")
	upstreamBin := flag.String("upstream", "bin/training-operator-v1.9", "upstream training-operator binary (built from ./hack/bench-training/upstream)")
	floorBin := flag.String("floor", "bin/bench-floor", "empty controller-runtime manager, the memory reference (built from ./hack/bench-training/floor; \"\" skips it)")
	jobs := flag.Int("jobs", 500, "PyTorchJobs to create")
	parallel := flag.Int("create-parallelism", 8, "concurrent creates by the benchmark driver")
	timeout := flag.Duration("timeout", 15*time.Minute, "give up on a contender after this long")
	kfupArgs := flag.String("kfup-args", "", "extra flags for kfup manager, space-separated (e.g. --pprof-bind-address 127.0.0.1:6060)")
	onlyKfup := flag.Bool("only-kfup", false, "measure kfup only (quick iterations; no ratio)")
	logs := flag.String("logs", "", "directory for the controllers' logs (default: a temporary one, removed)")
	flag.Parse()
	if *jobs < 1 || *parallel < 1 {
		fmt.Fprintln(os.Stderr, "bench-training: --jobs and --create-parallelism must be at least 1")
		os.Exit(2)
	}
	contenders := []contender{
		// Go's memory defaults, as upstream's: no soft limit from a cgroup of the host
		{name: "kfup manager", args: append([]string{*kfupBin, "manager", "--leader-elect=false", "--metrics-bind-address", "0", "--memory-limit-ratio", "0"}, strings.Fields(*kfupArgs)...)},
		{name: "training-operator v1.9.3", args: []string{*upstreamBin}},
	}
	if *onlyKfup {
		contenders = contenders[:1]
	}
	var floor *contender
	if *floorBin != "" {
		floor = &contender{name: "empty controller-runtime manager", args: []string{*floorBin}}
	}
	if err := run(floor, contenders, *jobs, *parallel, *timeout, *logs); err != nil {
		fmt.Fprintln(os.Stderr, "bench-training:", err)
		os.Exit(1)
	}
}

func run(floor *contender, contenders []contender, jobs, parallel int, timeout time.Duration, logDir string) error {
	all := contenders
	if floor != nil {
		all = append([]contender{*floor}, contenders...)
	}
	for _, c := range all {
		if _, err := os.Stat(c.args[0]); err != nil {
			return fmt.Errorf("%s: %w (make bench-training builds it)", c.name, err)
		}
	}
	tmp, err := os.MkdirTemp("", "kfup-bench-training-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if logDir == "" {
		logDir = tmp
	} else if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}

	env, err := testenv.StartWith(testenv.Options{APIs: apis.InCluster()})
	if err != nil {
		return err
	}
	defer env.Stop()
	kubeconfig, err := env.Kubeconfig()
	if err != nil {
		return err
	}
	kubeconfigPath := filepath.Join(tmp, "kubeconfig")
	if err := os.WriteFile(kubeconfigPath, kubeconfig, 0o600); err != nil {
		return err
	}
	// the driver itself is not rate limited: it must not be the bottleneck
	cfg := rest.CopyConfig(env.Config)
	cfg.QPS, cfg.Burst = -1, 0
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		return err
	}

	fmt.Printf("bench-training: %d PyTorchJobs (1 master + 1 worker) per contender on envtest kube-apiserver %s\n", jobs, testenv.KubernetesVersion)
	var floorKiB int64
	if floor != nil {
		r, err := runOne(*floor, c, kubeconfigPath, logDir, "bench-floor", 0, parallel, timeout)
		if err != nil {
			return fmt.Errorf("%s: %w (its log: %s)", floor.name, err, logPath(logDir, *floor))
		}
		floorKiB = r.idleRSSKiB
		fmt.Printf("  %-26s (no controllers, the floor): RSS %d MiB = %s\n", r.name, mib(r.idleRSSKiB), split(r))
	}
	var results []result
	for i, ct := range contenders {
		ns := fmt.Sprintf("bench-%d", i)
		r, err := runOne(ct, c, kubeconfigPath, logDir, ns, jobs, parallel, timeout)
		if err != nil {
			return fmt.Errorf("%s: %w (its log: %s)", ct.name, err, logPath(logDir, ct))
		}
		fmt.Printf("  %-26s jobs created in %6.1f s, all pods+services in %6.1f s; RSS idle %3d MiB, peak %4d MiB (at the end %s)\n",
			r.name, r.created.Seconds(), r.done.Seconds(), mib(r.idleRSSKiB), mib(r.peakRSSKiB), split(r))
		results = append(results, r)
		if err := clean(c, ns, timeout); err != nil {
			return err
		}
	}
	if len(results) < 2 {
		return nil
	}
	ours, theirs := results[0], results[1]
	speed := theirs.done.Seconds() / ours.done.Seconds()
	mem := float64(theirs.peakRSSKiB) / float64(ours.peakRSSKiB)
	fmt.Printf("bench-training: kfup %.1f s / %d MiB vs upstream %.1f s / %d MiB: %.1f× faster (target ≥ 2×: %s), %.1f× less memory (target ≥ 2×: %s)\n",
		ours.done.Seconds(), mib(ours.peakRSSKiB), theirs.done.Seconds(), mib(theirs.peakRSSKiB),
		speed, verdict(speed >= 2), mem, verdict(mem >= 2))
	if floor != nil {
		fmt.Printf("bench-training: peak above the floor's %d MiB: kfup %d MiB vs upstream %d MiB: %.1f× less\n",
			mib(floorKiB), mib(ours.peakRSSKiB-floorKiB), mib(theirs.peakRSSKiB-floorKiB),
			float64(theirs.peakRSSKiB-floorKiB)/float64(max(ours.peakRSSKiB-floorKiB, 1)))
	}
	return nil
}

// mib rounds KiB to the nearest MiB.
func mib(kib int64) int64 { return (kib + 512) / 1024 }

// split says what r's resident set was made of when it was measured.
func split(r result) string {
	return fmt.Sprintf("%d anonymous + %d file-backed", mib(r.anonKiB), mib(r.fileKiB))
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func logPath(dir string, ct contender) string {
	return filepath.Join(dir, strings.NewReplacer(" ", "-", "/", "-").Replace(ct.name)+".log")
}

// runOne starts ct, waits until it is ready, creates the jobs and waits for their pods
// and services. With no jobs it only measures the process once it has settled.
func runOne(ct contender, c client.Client, kubeconfig, logDir, ns string, jobs, parallel int, timeout time.Duration) (result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return result{}, err
	}
	port, err := freePort()
	if err != nil {
		return result{}, err
	}
	logFile, err := os.Create(logPath(logDir, ct))
	if err != nil {
		return result{}, err
	}
	defer logFile.Close()
	args := append(append([]string(nil), ct.args[1:]...), "--health-probe-bind-address", fmt.Sprintf("127.0.0.1:%d", port))
	cmd := exec.Command(ct.args[0], args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	// done is closed when the process has exited (waitErr then says how), so that every
	// select below and the cleanup can see it
	done := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(done) }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}()
	if err := waitReady(ctx, port, done, &waitErr); err != nil {
		return result{}, err
	}

	r := result{name: ct.name}
	if jobs == 0 {
		time.Sleep(3 * time.Second) // past start-up's last allocations
	}
	if err := procStatus(cmd.Process.Pid, map[string]*int64{"VmRSS": &r.idleRSSKiB}); err != nil {
		return r, err
	}
	if jobs == 0 {
		return r, measure(cmd.Process.Pid, &r)
	}
	t0 := time.Now()
	if err := createJobs(ctx, c, ns, jobs, parallel); err != nil {
		return r, err
	}
	r.created = time.Since(t0)
	for {
		pods, services, err := count(ctx, c, ns)
		if err != nil {
			return r, err
		}
		if pods >= 2*jobs && services >= 2*jobs {
			r.done = time.Since(t0)
			break
		}
		select {
		case <-done:
			return r, fmt.Errorf("exited early: %v", waitErr)
		case <-ctx.Done():
			return r, fmt.Errorf("after %s only %d of %d pods and %d of %d services exist", timeout, pods, 2*jobs, services, 2*jobs)
		case <-time.After(200 * time.Millisecond):
		}
	}
	return r, measure(cmd.Process.Pid, &r)
}

// measure records the peak resident set of process pid and what it holds now, from one
// read of /proc/<pid>/status (the three figures of one instant).
func measure(pid int, r *result) error {
	return procStatus(pid, map[string]*int64{"VmHWM": &r.peakRSSKiB, "RssAnon": &r.anonKiB, "RssFile": &r.fileKiB})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls /readyz, which both contenders answer once their caches have synced.
func waitReady(ctx context.Context, port int, done <-chan struct{}, waitErr *error) error {
	url := fmt.Sprintf("http://127.0.0.1:%d/readyz", port)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-done:
			return fmt.Errorf("exited before it was ready: %v", *waitErr)
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func createJobs(ctx context.Context, c client.Client, ns string, jobs, parallel int) error {
	names := make(chan int)
	errc := make(chan error, parallel)
	var wg sync.WaitGroup
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range names {
				replica := func() *builders.ReplicaWrapper {
					return builders.MakeReplica(1, "pytorch", "kfup-offline/python-ml:bookworm", "python3", "-c", "pass").
						RestartPolicy(trainingv1.RestartPolicyOnFailure)
				}
				job := builders.MakePyTorchJob(fmt.Sprintf("job-%04d", i), ns).
					Replica(trainingv1.PyTorchJobReplicaTypeMaster, replica()).
					Replica(trainingv1.PyTorchJobReplicaTypeWorker, replica()).Obj()
				if err := c.Create(ctx, job); err != nil {
					errc <- fmt.Errorf("create %s: %w", job.Name, err)
					return
				}
			}
		}()
	}
	var err error
feed:
	for i := range jobs {
		select {
		case names <- i:
		case err = <-errc:
			break feed
		}
	}
	close(names)
	wg.Wait()
	if err != nil {
		return err
	}
	select {
	case err = <-errc:
	default:
	}
	return err
}

// count returns how many pods and services exist in ns (metadata only: cheap for the
// API server, so the measurement disturbs the contenders little).
func count(ctx context.Context, c client.Client, ns string) (pods, services int, err error) {
	for _, kind := range []struct {
		n   *int
		gvk schema.GroupVersionKind
	}{{&pods, corev1.SchemeGroupVersion.WithKind("PodList")}, {&services, corev1.SchemeGroupVersion.WithKind("ServiceList")}} {
		l := &metav1.PartialObjectMetadataList{}
		l.SetGroupVersionKind(kind.gvk)
		if err := c.List(ctx, l, client.InNamespace(ns)); err != nil {
			return 0, 0, err
		}
		*kind.n = len(l.Items)
	}
	return pods, services, nil
}

// procStatus reads memory figures of a process in KiB into fields, by name: VmRSS
// (resident now), VmHWM (the peak resident set size), RssAnon or RssFile (the anonymous
// and file-backed parts of VmRSS).
func procStatus(pid int, fields map[string]*int64) error {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return fmt.Errorf("read memory figures: %w (this benchmark needs Linux /proc)", err)
	}
	defer f.Close()
	found := 0
	s := bufio.NewScanner(f)
	for s.Scan() {
		name, v, ok := strings.Cut(s.Text(), ":")
		into := fields[name]
		if !ok || into == nil {
			continue
		}
		if *into, err = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64); err != nil {
			return fmt.Errorf("/proc/%d/status %s: %w", pid, name, err)
		}
		found++
	}
	if found != len(fields) {
		return fmt.Errorf("/proc/%d/status lacks some of %v", pid, slices.Sorted(maps.Keys(fields)))
	}
	return s.Err()
}

// clean deletes what a run created (envtest has no garbage collector, so pods and services
// are deleted explicitly) and waits until it is gone.
func clean(c client.Client, ns string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for _, obj := range []client.Object{&trainingv1.PyTorchJob{}, &corev1.Pod{}, &corev1.Service{}} {
		if err := c.DeleteAllOf(ctx, obj, client.InNamespace(ns), client.GracePeriodSeconds(0)); err != nil {
			return fmt.Errorf("clean %s: %w", ns, err)
		}
	}
	for {
		pods, services, err := count(ctx, c, ns)
		if err != nil {
			return err
		}
		if pods == 0 && services == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("clean %s: %d pods and %d services left", ns, pods, services)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
