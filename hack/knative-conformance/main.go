// Command knative-conformance runs Knative's own KIngress conformance suite
// (knative.dev/networking/test/conformance/ingress) against kfup's ingress on a kind
// cluster kfup made, and packages the suite's test images.
//
//	knative-conformance images --binaries DIR --networking-module V -o images.tar
//	knative-conformance run --cluster conf [--create] [--skip tls] ...
//
// images writes the test images (built from the pinned module by `make
// knative-conformance-images`) as a docker-archive tarball. run loads them into the
// cluster's nodes, installs Knative's KIngress CRD (from the Knative Serving release kfup
// vendors, nothing else of Knative), turns on the manager's --ingress-knative, runs the
// suite from hack/knative (Knative's module: kfup's main module gains no Knative
// dependency) with `go test -json`, and prints one line per test and subtest.
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/components"
	"github.com/kfup/kfup/components/ingress"
	kingressv1alpha1 "github.com/kfup/kfup/components/ingress/api/v1alpha1"
	"github.com/kfup/kfup/components/manager"
	"github.com/kfup/kfup/internal/binimage"
	"github.com/kfup/kfup/internal/ui"
	"github.com/kfup/kfup/manifests"
)

// TestImages are the images the suite's backends run, each
// knative.dev/networking/test/test_images/<name>.
var TestImages = []string{"grpc-ping", "httpproxy", "retry", "runtime", "timeout", "wsserver"}

// Repository is where the test images are tagged: <Repository>/<name>:<module version>
// (the suite's -dockerrepo and -tag).
const Repository = "kfup.local/knative-networking-test"

// ModuleLabel is the image label holding the knative.dev/networking module version.
const ModuleLabel = "kfup.dev/knative-networking-module"

// suiteTest is the test of hack/knative/conformance running the suite.
const suiteTest = "TestIngressConformance"

// servingNamespace is where the suite creates its objects (knative.dev/networking/test's
// ServingNamespace); it expects the namespace to exist.
const servingNamespace = "serving-tests"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "images":
		err = images(os.Args[2:])
	case "run":
		err = run(ctx, os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "knative-conformance:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: knative-conformance images|run [flags] (-h for each)")
	os.Exit(2)
}

func images(args []string) error {
	fs := flag.NewFlagSet("images", flag.ExitOnError)
	dir := fs.String("binaries", "", "directory of the static linux binaries (runtime, wsserver, ...)")
	module := fs.String("networking-module", "", "knative.dev/networking module version the binaries were built from (the images' tag)")
	out := fs.String("o", "", "docker-archive tarball to write")
	_ = fs.Parse(args)
	if *dir == "" || *module == "" || *out == "" {
		return errors.New("images: --binaries, --networking-module and -o are required")
	}
	m := map[name.Reference]v1.Image{}
	for _, bin := range TestImages {
		path := filepath.Join(*dir, bin)
		ref, err := name.NewTag(Repository + "/" + bin + ":" + *module)
		if err != nil {
			return err
		}
		// As ko builds them upstream, run as nonroot (binimage.KoUID: the uid the images'
		// own service.yaml asks for).
		img, err := binimage.KoApp(path, map[string]string{ModuleLabel: *module,
			"org.opencontainers.image.title": "Knative networking test image " + bin + " built by kfup from knative.dev/networking " + *module})
		if err != nil {
			return err
		}
		m[ref] = img
	}
	return tarball.MultiRefWriteToFile(*out, m)
}

// runOptions are the flags of run.
type runOptions struct {
	cluster, kfup, nodeImage, moduleDir, goBin, tag, skip, testRun, artifacts, timeout string
	create, keep, beta, alpha                                                          bool
	parallel                                                                           int
}

func run(ctx context.Context, args []string) error {
	var o runOptions
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	fs.StringVar(&o.cluster, "cluster", "conf", "kfup cluster (kind) to run on")
	fs.BoolVar(&o.create, "create", false, "create the cluster (kfup create --profile minimal) when it does not exist, and delete it afterwards")
	fs.BoolVar(&o.keep, "keep", false, "with --create: keep the cluster")
	fs.StringVar(&o.kfup, "kfup", "bin/kfup", "kfup binary (for --create)")
	fs.StringVar(&o.nodeImage, "node-image", "", "node image for --create")
	fs.StringVar(&o.moduleDir, "module", "hack/knative", "directory of the Go module holding the suite's runner (conformance/)")
	fs.StringVar(&o.goBin, "go", "go", "go command")
	fs.StringVar(&o.tag, "tag", "", "tag of the test images: the knative.dev/networking module version (required)")
	fs.StringVar(&o.skip, "skip", "", "the suite's tests to skip (comma-separated -skip-tests names, such as tls,httpoption)")
	fs.BoolVar(&o.beta, "enable-beta", true, "run the suite's beta tests too (host-rewrite, headers/tags)")
	fs.BoolVar(&o.alpha, "enable-alpha", true, "run the suite's alpha tests too (httpoption: plain HTTP redirected to HTTPS)")
	fs.StringVar(&o.testRun, "run", "", "go test -run pattern within TestIngressConformance (such as 'TestIngressConformance/grpc')")
	fs.IntVar(&o.parallel, "parallel", 4, "go test -parallel")
	fs.StringVar(&o.timeout, "timeout", "40m", "go test -timeout")
	fs.StringVar(&o.artifacts, "artifacts", "_artifacts/conformance", "where the suite's JSON log, the results table and failure dumps go")
	_ = fs.Parse(args)
	if o.tag == "" {
		return errors.New("run: --tag (the knative.dev/networking module version) is required")
	}
	if err := os.MkdirAll(o.artifacts, 0o755); err != nil {
		return err
	}
	kind := bootstrap.NewKindClusters(ui.Discard())
	exists, err := kind.Exists(o.cluster)
	if err != nil {
		return err
	}
	if !exists {
		if !o.create {
			return fmt.Errorf("cluster %q does not exist: create it with 'kfup create --name %s --profile minimal', or pass --create", o.cluster, o.cluster)
		}
		if err := kfupCmd(ctx, o, "create", "--name", o.cluster, "--profile", "minimal", "--wait", "5m"); err != nil {
			return err
		}
		if !o.keep {
			defer func() {
				if err := kfupCmd(context.Background(), o, "delete", "--name", o.cluster); err != nil {
					logf("delete cluster %q: %v", o.cluster, err)
				}
			}()
		}
	}
	kubeconfig, err := writeKubeconfig(kind, o)
	if err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return err
	}

	refs := make([]string, 0, len(TestImages))
	for _, img := range TestImages {
		refs = append(refs, Repository+"/"+img+":"+o.tag)
	}
	t0 := time.Now()
	loaded, err := kind.LoadImages(ctx, o.cluster, refs...)
	if err != nil {
		return fmt.Errorf("load the test images (make knative-conformance-images builds them): %w", err)
	}
	logf("test images on the node (%d loaded in %s)", len(loaded), time.Since(t0).Round(time.Second))

	if err := installKIngressCRD(ctx, c); err != nil {
		return err
	}
	if err := ensureNamespace(ctx, cs, servingNamespace); err != nil {
		return err
	}
	if err := enableKnativeIngress(ctx, cs); err != nil {
		return err
	}
	endpoint, err := ingressEndpoint(ctx, cs)
	if err != nil {
		return err
	}
	logf("ingress endpoint %s (the suite dials <endpoint>:<node port of %s/%s>)", endpoint, ingress.Namespace, ingress.AppName)

	return suite(ctx, o, kubeconfig, endpoint)
}

func kfupCmd(ctx context.Context, o runOptions, args ...string) error {
	if args[0] == "create" && o.nodeImage != "" {
		args = append(args, "--node-image", o.nodeImage)
	}
	logf("%s %s", o.kfup, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, o.kfup, args...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kfup %s: %w", args[0], err)
	}
	return nil
}

// writeKubeconfig writes the cluster's own kubeconfig (kind's, not the user's merged
// one) for the suite's -kubeconfig.
func writeKubeconfig(kind *bootstrap.KindClusters, o runOptions) (string, error) {
	b, err := kind.Kubeconfig(o.cluster)
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(o.artifacts)
	if err != nil {
		return "", err
	}
	path := filepath.Join(abs, "kubeconfig")
	return path, os.WriteFile(path, b, 0o600)
}

// installKIngressCRD applies Knative's KIngress CRD from the Knative Serving release kfup
// vendors, and waits until it is served.
func installKIngressCRD(ctx context.Context, c client.Client) error {
	const crdName = "ingresses.networking.internal.knative.dev"
	for _, f := range manifests.KnativeServing() {
		objs, err := components.DecodeYAML(f.Name, f.Data)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if o.GetKind() != "CustomResourceDefinition" || o.GetName() != crdName {
				continue
			}
			o.SetResourceVersion("")
			if err := c.Apply(ctx, client.ApplyConfigurationFromUnstructured(o), client.FieldOwner("kfup-conformance"), client.ForceOwnership); err != nil {
				return fmt.Errorf("apply the KIngress CRD: %w", err)
			}
			logf("KIngress CRD applied (from Knative Serving %s)", manifests.KnativeServingVersion)
			return wait.PollUntilContextTimeout(ctx, time.Second, time.Minute, true, func(ctx context.Context) (bool, error) {
				var list metav1.PartialObjectMetadataList
				list.SetGroupVersionKind(kingressv1alpha1.GroupVersion.WithKind("IngressList"))
				return c.List(ctx, &list, client.InNamespace(servingNamespace)) == nil, nil
			})
		}
	}
	return errors.New("no KIngress CRD in Knative Serving's manifests")
}

func ensureNamespace(ctx context.Context, cs kubernetes.Interface, ns string) error {
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// enableKnativeIngress makes the manager serve KIngresses (--ingress-knative).
//
// The profile turns it on only with Knative Serving installed
// (components.knative.enabled on components.knative.ingress=kfup), which the suite does
// not need: it makes its KIngresses itself. So the flag is appended to the manager
// Deployment's args of this test cluster here; a later kfup create of the cluster puts
// the profile's args back.
func enableKnativeIngress(ctx context.Context, cs kubernetes.Interface) error {
	const flag = "--ingress-knative"
	deps := cs.AppsV1().Deployments(manager.Namespace)
	dep, err := deps.Get(ctx, manager.AppName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get the manager Deployment (is the ingress component on? profile minimal): %w", err)
	}
	i := slices.IndexFunc(dep.Spec.Template.Spec.Containers, func(c corev1.Container) bool { return c.Name == "manager" })
	if i < 0 {
		return fmt.Errorf("deployment %s/%s has no container named manager", manager.Namespace, manager.AppName)
	}
	if args := dep.Spec.Template.Spec.Containers[i].Args; slices.Contains(args, flag) || slices.Contains(args, flag+"=true") {
		logf("manager already runs with %s", flag)
	} else {
		dep.Spec.Template.Spec.Containers[i].Args = append(args, flag)
		if dep, err = deps.Update(ctx, dep, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("add %s to the manager: %w", flag, err)
		}
		logf("manager Deployment patched with %s (the profile sets it only with Knative Serving)", flag)
	}
	gen := dep.Generation
	return wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := deps.Get(ctx, manager.AppName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		return rolledOut(d, gen), nil
	})
}

func rolledOut(d *appsv1.Deployment, gen int64) bool {
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	s := d.Status
	return s.ObservedGeneration >= gen && s.UpdatedReplicas == want && s.AvailableReplicas == want && s.Replicas == want
}

// ingressEndpoint is the address of the kind node: the suite dials it on the node port
// of the Service the KIngress status names (kfup-ingress, 31080).
func ingressEndpoint(ctx context.Context, cs kubernetes.Interface) (string, error) {
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return "", err
	}
	for _, n := range nodes.Items {
		for _, a := range n.Status.Addresses {
			if a.Type != corev1.NodeInternalIP {
				continue
			}
			addr := net.JoinHostPort(a.Address, fmt.Sprint(ingress.NodePort))
			conn, err := net.DialTimeout("tcp", addr, 3*time.Second)
			if err != nil {
				return "", fmt.Errorf("the node port %s is not reachable from this host (%w): the suite needs the kind node's address", addr, err)
			}
			conn.Close()
			return a.Address, nil
		}
	}
	return "", errors.New("no node with an InternalIP")
}

// event is one line of go test -json (test2json).
type event struct {
	Action  string
	Test    string
	Elapsed float64
	Output  string
}

type result struct {
	name    string
	action  string
	elapsed float64
	output  []string
}

// suite runs the conformance test in hack/knative and prints a table of its results.
func suite(ctx context.Context, o runOptions, kubeconfig, endpoint string) error {
	suiteArgs := []string{
		"-ingressClass=" + kingressv1alpha1.Class,
		"-ingressendpoint=" + endpoint,
		"-dockerrepo=" + Repository,
		"-tag=" + o.tag,
		"-kubeconfig=" + kubeconfig,
		"-skip-tests=" + o.skip,
		fmt.Sprintf("-enable-beta=%t", o.beta),
		fmt.Sprintf("-enable-alpha=%t", o.alpha),
	}
	run := "^" + suiteTest + "$"
	if o.testRun != "" {
		run = o.testRun
	}
	args := append([]string{"test", "-tags", "conformance", "-count=1", "-json", "-timeout", o.timeout,
		"-parallel", fmt.Sprint(o.parallel), "-run", run, "./conformance/", "-args"}, suiteArgs...)
	logf("cd %s && %s %s", o.moduleDir, o.goBin, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, o.goBin, args...)
	cmd.Dir = o.moduleDir
	// logstream (the suite's log streaming of the system namespace) and the test images'
	// defaults read SYSTEM_NAMESPACE; kfup's ingress runs in kfup-system.
	cmd.Env = append(os.Environ(), "SYSTEM_NAMESPACE="+ingress.Namespace, "CGO_ENABLED=0")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(o.artifacts, "suite.json"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	if err := cmd.Start(); err != nil {
		return err
	}
	results := map[string]*result{}
	var order []string
	var buildOutput bytes.Buffer
	sc := bufio.NewScanner(io.TeeReader(stdout, logFile))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var e event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			buildOutput.Write(sc.Bytes())
			buildOutput.WriteByte('\n')
			continue
		}
		if e.Test == "" {
			if e.Action == "output" {
				buildOutput.WriteString(e.Output)
			}
			continue
		}
		r := results[e.Test]
		if r == nil {
			r = &result{name: e.Test}
			results[e.Test] = r
			order = append(order, e.Test)
		}
		switch e.Action {
		case "pass", "fail", "skip":
			r.action, r.elapsed = e.Action, e.Elapsed
			if e.Action != "fail" {
				r.output = nil // keep the output of failures only
			}
			fmt.Fprintf(os.Stderr, "  %-4s %s (%.1fs)\n", strings.ToUpper(e.Action), e.Test, e.Elapsed)
		case "output":
			r.output = append(r.output, e.Output)
		}
	}
	waitErr := cmd.Wait()
	if len(results) == 0 {
		return fmt.Errorf("the suite ran no test: %v\n%s", waitErr, buildOutput.String())
	}
	table := formatTable(results, order)
	fmt.Print(table)
	if err := os.WriteFile(filepath.Join(o.artifacts, "results.txt"), []byte(table), 0o644); err != nil {
		return err
	}
	var failed []string
	var dump strings.Builder
	for _, n := range order {
		if n == suiteTest {
			continue // fails with any of its subtests
		}
		if r := results[n]; r.action == "fail" || r.action == "" {
			failed = append(failed, n)
			fmt.Fprintf(&dump, "=== %s (%s)\n%s\n", n, cmp.Or(r.action, "no result"), strings.Join(r.output, ""))
		}
	}
	if len(failed) > 0 {
		path := filepath.Join(o.artifacts, "failures.txt")
		if err := os.WriteFile(path, []byte(dump.String()), 0o644); err != nil {
			return err
		}
		return fmt.Errorf("%d of %d tests failed: %s (their output: %s; the whole log: %s)", len(failed), len(results)-1,
			strings.Join(failed, ", "), path, filepath.Join(o.artifacts, "suite.json"))
	}
	if waitErr != nil {
		return fmt.Errorf("go test: %w\n%s", waitErr, buildOutput.String())
	}
	return nil
}

// formatTable lists every test and subtest by its name under TestIngressConformance,
// sorted: a group ("dispatch/path": the suite's own names hold slashes) comes before its
// subtests.
func formatTable(results map[string]*result, order []string) string {
	names := slices.Clone(order)
	slices.Sort(names)
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TEST\tRESULT\tTIME")
	count := map[string]int{}
	for _, n := range names {
		r := results[n]
		if n == suiteTest {
			continue
		}
		action := strings.ToUpper(cmp.Or(r.action, "none"))
		count[action]++
		fmt.Fprintf(tw, "%s\t%s\t%.1fs\n", strings.TrimPrefix(n, suiteTest+"/"), action, r.elapsed)
	}
	tw.Flush()
	fmt.Fprintf(&b, "\n%d passed, %d failed, %d skipped\n", count["PASS"], count["FAIL"]+count["NONE"], count["SKIP"])
	return b.String()
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[conformance %s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
