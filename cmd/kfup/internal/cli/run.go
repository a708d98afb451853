package cli

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/components/manager"
	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	"github.com/kfup/kfup/components/training/run"
	"github.com/kfup/kfup/internal/agent"
	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/internal/incluster"
	"github.com/kfup/kfup/internal/workspace"
)

// DefaultRunImage runs `kfup run` commands when neither --image nor $KFUP_RUN_IMAGE says
// otherwise: Python 3 with pip, pulled by the node on first use.
const DefaultRunImage = "docker.io/library/python:3.12-slim"

// RunImageEnv names the variable that replaces DefaultRunImage.
const RunImageEnv = "KFUP_RUN_IMAGE"

// DefaultRunMaxSize bounds the files `kfup run` sends (see docs/run.md: each 900 KiB of
// the compressed archive is one ConfigMap in etcd).
const DefaultRunMaxSize = "64Mi"

// RunOptions are the flags and arguments of `kfup run`.
type RunOptions struct {
	// Args is the script and its arguments (train.py --epochs 3) or a command (torchrun
	// train.py).
	Args []string
	// Dir is the directory sent to the cluster, the command's working directory there.
	Dir                               string
	Kind                              string
	Workers, PS, ProcsPerWorker, GPUs int32
	Image                             string
	Env                               []string
	Namespace                         string
	RunName                           string
	Requirements                      string
	MaxSize                           string
	ShowFiles                         bool
	Rm                                bool
	TTL                               time.Duration
	// OutputDir holds each run's outputs, in OutputDir/<run>.
	OutputDir  string
	OutputWait time.Duration
	Bake       bool
}

// runAPI is what the run commands act with: real clusters in production, fakes in tests.
type runAPI struct {
	f *Factory
	// connect returns a client knowing the training API, a clientset for logs and
	// events, and the exec of outputs.
	connect func(ctx context.Context) (client.Client, kubernetes.Interface, run.Exec, error)
	now     func() time.Time
	poll    time.Duration
	sleep   func(ctx context.Context, d time.Duration) error
	// bake builds and loads --bake images; nil: the real one.
	bake func(ctx context.Context, base string, a *workspace.Archive) (string, error)
	// checkImage says whether an image can start a program, before anything is
	// created; nil checks nothing.
	checkImage func(ctx context.Context, image, program string) error
}

func newRunAPI(f *Factory) *runAPI {
	return &runAPI{
		f: f,
		connect: func(ctx context.Context) (client.Client, kubernetes.Interface, run.Exec, error) {
			cfg, err := clusterREST(f)
			if err != nil {
				return nil, nil, nil, err
			}
			c, cs, err := runClients(cfg, f.Global.Name)
			if err != nil {
				return nil, nil, nil, err
			}
			return c, cs, restExec(cfg), nil
		},
		now:        time.Now,
		poll:       500 * time.Millisecond,
		sleep:      sleepCtx,
		checkImage: checkLocalImage,
	}
}

// clusterREST returns the REST config of the cluster named by --name, as kfup recorded it.
func clusterREST(f *Factory) (*rest.Config, error) {
	name := f.Global.Name
	if err := bootstrap.ValidateName(name); err != nil {
		return nil, err
	}
	env, rec, err := f.Cluster(name)
	if err != nil {
		return nil, err
	}
	if env.REST != nil {
		return env.REST, nil
	}
	return bootstrap.RESTConfig(rec.Context, rec.Kubeconfig)
}

func runScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, trainingv1.AddToScheme} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func runClients(cfg *rest.Config, name string) (client.Client, kubernetes.Interface, error) {
	scheme, err := runScheme()
	if err != nil {
		return nil, nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, nil, fmt.Errorf("client for cluster %q: %w", name, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("client for cluster %q: %w", name, err)
	}
	return c, cs, nil
}

// restExec runs commands in containers over the API server's exec subresource.
func restExec(cfg *rest.Config) run.Exec {
	return func(ctx context.Context, ns, pod, container string, command []string, stdout io.Writer) error {
		var stderr strings.Builder
		code, err := agent.ExecInPod(ctx, cfg, ns, agent.ExecArgs{Pod: pod, Container: container, Command: command}, nil, stdout, &stderr)
		if err != nil {
			return err
		}
		if code != 0 {
			return fmt.Errorf("%s exited with code %d: %s", strings.Join(command, " "), code, strings.TrimSpace(stderr.String()))
		}
		return nil
	}
}

// NewCmdRun returns `kfup run` with its list, logs and rm subcommands; runF replaces the
// real run in tests.
func NewCmdRun(f *Factory, runF func(context.Context, *RunOptions) error) *cobra.Command {
	opts := &RunOptions{}
	cmd := &cobra.Command{
		Use:   "run [flags] SCRIPT.py [ARG]... | kfup run [flags] -- COMMAND [ARG]...",
		Short: "Run local code on the cluster as a Kubeflow training job, with its logs and outputs back",
		Long: `Send the working directory (--dir, default .) to the cluster and run SCRIPT.py (with
python3) or COMMAND in it as a real kubeflow.org/v1 training job: a single-replica
PyTorchJob by default, or --kind pytorch|tfjob|xgboost|mpi|jax|paddle with --workers, --ps
and --procs-per-worker. No registry and no image build: the directory goes into the
cluster as a content-addressed archive (ConfigMaps; an unchanged tree is not sent again)
that kfup's own image unpacks into /workspace of any image (--image). With --bake, the
files are a layer appended onto the image instead, loaded into the nodes.

The directory honours .gitignore and .kfupignore (same syntax; never .git). Every
replica's log is printed with its name ([worker-1]); warnings (OOMKilled,
ImagePullBackOff) as they happen. Files the job writes to $KFUP_OUTPUT_DIR come back
to ./kfup-runs/<run>/ (other replicas than the first: ./kfup-runs/<run>/<replica>/).
Ctrl-C deletes the job. Finished jobs are kept for --ttl (kubectl get pytorchjobs
shows them) unless --rm.

Exit codes: 0 the job succeeded, 1 it failed (the failing replica is named), 2 bad flags,
a missing script, a tree over --max-size, an image without the command, 4 no such
cluster, namespace or training API, 5 a run of that name exists, 130 interrupted (the
job is deleted).`,
		Example: `  kfup run train.py --epochs 3
  kfup run --kind pytorch --workers 2 -- torchrun train.py
  kfup run --kind tfjob --ps 1 --workers 2 train.py
  kfup run --image my/image:tag --requirements requirements.txt train.py
  kfup run --show-files train.py          # what would be sent, and its digest
  kfup run list; kfup run logs train-x7k2p; kfup run rm train-x7k2p`,
		Args: func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return errs.Usage(fmt.Sprintf("see '%s --help'", c.CommandPath()), "name a script (kfup run train.py) or a command (kfup run -- torchrun train.py)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Args = args
			if !cmd.Flags().Changed("workers") {
				opts.Workers = run.DefaultWorkers(opts.Kind)
			}
			if opts.RunName != "" {
				if err := validateRunJobName(opts.RunName); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runRun(cmd.Context(), newRunAPI(f), opts)
		},
	}
	// flags after the script are the script's own: kfup run train.py --epochs 3
	cmd.Flags().SetInterspersed(false)
	fl := cmd.Flags()
	fl.StringVar(&opts.Dir, "dir", ".", "the directory to send; the command runs in it (/workspace)")
	fl.StringVar(&opts.Kind, "kind", "pytorch", "the job kind: "+strings.Join(run.Kinds, ", "))
	fl.Int32Var(&opts.Workers, "workers", 0, "worker replicas (pytorch, xgboost: beside the master, default 0; tfjob, mpi, jax, paddle: default 1)")
	fl.Int32Var(&opts.PS, "ps", 0, "parameter servers (--kind tfjob only)")
	fl.Int32Var(&opts.ProcsPerWorker, "procs-per-worker", 0, "processes per replica (pytorch: nprocPerNode for torchrun; mpi: slots per worker)")
	fl.Int32Var(&opts.GPUs, "gpus", 0, "NVIDIA GPUs per replica (nvidia.com/gpu; a cluster made with 'kfup create --gpu')")
	fl.StringVar(&opts.Image, "image", "", "the image that runs the command (default $"+RunImageEnv+", else "+DefaultRunImage+")")
	fl.StringArrayVarP(&opts.Env, "env", "e", nil, "set a variable in every replica: `NAME=VALUE` (repeatable)")
	namespaceFlag(cmd, &opts.Namespace, "the run's job")
	fl.StringVar(&opts.RunName, "run-name", "", "name `RUN` of the run and its job (default: the script's name and a random suffix)")
	fl.StringVar(&opts.Requirements, "requirements", "", "a requirements `FILE` in the directory (relative to --dir), pip-installed before the command")
	fl.StringVar(&opts.MaxSize, "max-size", DefaultRunMaxSize, "the most bytes of files to send (Ki, Mi, Gi suffixes)")
	fl.BoolVar(&opts.ShowFiles, "show-files", false, "print the files that would be sent, their total and digest, and exit")
	fl.BoolVar(&opts.Rm, "rm", false, "delete the job as soon as it finished and its outputs are back")
	fl.DurationVar(&opts.TTL, "ttl", 24*time.Hour, "keep the finished job this long (ttlSecondsAfterFinished; 0 keeps it until deleted)")
	fl.StringVar(&opts.OutputDir, "output-dir", "kfup-runs", "where each run's outputs go, in a directory named after the run")
	fl.DurationVar(&opts.OutputWait, "output-wait", run.DefaultOutputWait, "how long a finished pod waits for its outputs to be fetched")
	fl.BoolVar(&opts.Bake, "bake", false, "append the files as a layer onto --image and load that image into the nodes, instead of unpacking them at start")
	cmd.AddCommand(NewCmdRunList(f, nil), NewCmdRunLogs(f, nil), NewCmdRunRm(f, nil))
	return cmd
}

// validateRunJobName checks a --run-name: a DNS-1035 label short enough for every job kind
// (a TFJob's name is at most 49 characters).
func validateRunJobName(name string) error {
	if msgs := validation.IsDNS1035Label(name); len(msgs) > 0 {
		return errs.Usage("use lowercase letters, digits and '-', starting with a letter", "--run-name %q: %s", name, strings.Join(msgs, "; "))
	}
	if len(name) > 49 {
		return errs.Usage("use a shorter name", "--run-name %q: a run's name is at most 49 characters", name)
	}
	return nil
}

// runCommand returns the command for args: python3 for a script, args as they are
// otherwise, and the script that must be in the directory ("" when none is named).
func runCommand(args []string) ([]string, string) {
	cmd := args
	if strings.HasSuffix(args[0], ".py") {
		cmd = append([]string{"python3"}, args...)
	}
	for _, a := range cmd {
		if strings.HasSuffix(a, ".py") && !strings.HasPrefix(a, "-") {
			return cmd, a
		}
	}
	return cmd, ""
}

var nonName = regexp.MustCompile(`[^a-z0-9-]+`)

// generatedRunName is the script's (or command's) base name, DNS-safe, and 5 random
// characters: train-x7k2p.
func generatedRunName(script string, cmd []string) string {
	base := script
	if base == "" {
		base = cmd[0]
	}
	base = strings.TrimSuffix(filepath.Base(base), filepath.Ext(base))
	base = strings.Trim(nonName.ReplaceAllString(strings.ToLower(base), "-"), "-")
	if base == "" || base[0] < 'a' || base[0] > 'z' {
		base = "run-" + base
	}
	if len(base) > 40 {
		base = strings.TrimRight(base[:40], "-")
	}
	const letters = "bcdfghjklmnpqrstvwxz2456789"
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return base + "-" + string(b)
}

// parseEnv reads --env NAME=VALUE flags.
func parseEnv(env []string) ([]corev1.EnvVar, error) {
	var out []corev1.EnvVar
	for _, e := range env {
		k, v, ok := strings.Cut(e, "=")
		if !ok || k == "" {
			return nil, errs.Usage("write --env NAME=VALUE", "--env %q: no NAME=VALUE", e)
		}
		if msgs := validation.IsEnvVarName(k); len(msgs) > 0 {
			return nil, errs.Usage("use letters, digits, '_', '-' and '.'", "--env %q: %s", e, strings.Join(msgs, "; "))
		}
		out = append(out, corev1.EnvVar{Name: k, Value: v})
	}
	return out, nil
}

// inTree returns p (relative to the working directory) relative to dir, or false when it
// lies outside.
func inTree(dir, p string) (string, bool) {
	absDir, err1 := filepath.Abs(dir)
	absP, err2 := filepath.Abs(p)
	if err1 != nil || err2 != nil {
		return "", false
	}
	rel, err := filepath.Rel(absDir, absP)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// prepared is a run checked and ready to create: nothing of it is in the cluster yet.
type prepared struct {
	spec    *run.Spec
	archive *workspace.Archive
	script  string
}

// prepareRun checks everything that needs no cluster: the command, the script, the
// replica flags, the variables, the requirements file and the archive.
func prepareRun(opts *RunOptions, getenv func(string) string) (*prepared, error) {
	cmd, script := runCommand(opts.Args)
	st, err := os.Stat(opts.Dir)
	if err != nil || !st.IsDir() {
		return nil, errs.Usage("pass --dir with the directory holding your code", "--dir %s: not a directory", opts.Dir)
	}
	if script != "" {
		// the script as the command names it: relative to /workspace, the directory sent
		if filepath.IsAbs(script) {
			return nil, errs.Usage("name the script relative to --dir: it runs in /workspace, the directory sent", "%s: an absolute path", script)
		}
		if fi, err := os.Stat(filepath.Join(opts.Dir, script)); err != nil || fi.IsDir() {
			return nil, errs.Usage(fmt.Sprintf("check the name; the directory sent is %s (--dir)", opts.Dir), "%s: no such file in %s", script, opts.Dir)
		}
	}
	s := &run.Spec{
		Kind: opts.Kind, Command: cmd, Namespace: opts.Namespace,
		Workers: opts.Workers, PS: opts.PS, ProcsPerWorker: opts.ProcsPerWorker, GPUs: opts.GPUs,
		TTL: opts.TTL, OutputWait: opts.OutputWait,
	}
	if err := s.Validate(); err != nil {
		return nil, errs.Usage("see 'kfup run --help' for the replica flags of each --kind", "%v", err)
	}
	if opts.OutputWait <= 0 || opts.TTL < 0 {
		return nil, errs.Usage("pass positive durations such as --output-wait 1m --ttl 24h", "--output-wait must be positive and --ttl not negative")
	}
	if s.Env, err = parseEnv(opts.Env); err != nil {
		return nil, err
	}
	s.Image = opts.Image
	if s.Image == "" {
		s.Image = getenv(RunImageEnv)
	}
	if s.Image == "" {
		s.Image = DefaultRunImage
	}
	maxSize, err := resource.ParseQuantity(opts.MaxSize)
	if err != nil || maxSize.Sign() <= 0 {
		return nil, errs.Usage("pass a size such as --max-size 64Mi", "--max-size %q: not a positive size", opts.MaxSize)
	}
	var exclude []string
	if rel, ok := inTree(opts.Dir, opts.OutputDir); ok && rel != "." {
		exclude = append(exclude, rel) // the outputs of earlier runs are not sent back
	}
	if opts.Requirements != "" {
		// relative to the directory sent, as the script is; an absolute path must lie in it
		rel, ok := filepath.ToSlash(filepath.Clean(opts.Requirements)), true
		if filepath.IsAbs(opts.Requirements) {
			rel, ok = inTree(opts.Dir, opts.Requirements)
		} else if rel == ".." || strings.HasPrefix(rel, "../") {
			ok = false
		}
		if !ok {
			return nil, errs.Usage("put the requirements file in the directory sent (--dir)", "--requirements %s: outside %s", opts.Requirements, opts.Dir)
		}
		b, err := os.ReadFile(filepath.Join(opts.Dir, filepath.FromSlash(rel)))
		if err != nil {
			return nil, errs.Usage("check the file's path", "--requirements: %v", err)
		}
		sum := sha256.Sum256(b)
		s.Requirements, s.RequirementsHash = rel, "sha256:"+hex.EncodeToString(sum[:])
	}
	a, err := workspace.Build(opts.Dir, workspace.Options{MaxBytes: maxSize.Value(), Exclude: exclude})
	if err != nil {
		var tl *workspace.TooLargeError
		if errors.As(err, &tl) {
			return nil, errs.Usage(fmt.Sprintf("leave files out with a %s (.gitignore syntax), or raise --max-size; data and models belong on a volume or in the image (--image, --bake)", workspace.IgnoreFile), "%v", err)
		}
		if errors.Is(err, fs.ErrPermission) {
			return nil, errs.Usage("make the files readable or leave them out with "+workspace.IgnoreFile, "archive %s: %v", opts.Dir, err)
		}
		return nil, errs.Usage(fmt.Sprintf("fix it, or leave the file out with %s", workspace.IgnoreFile), "archive %s: %v", opts.Dir, err)
	}
	if opts.Requirements != "" && !archived(a, s.Requirements) {
		return nil, errs.Usage("the requirements file must be sent: take it out of .gitignore/.kfupignore", "--requirements %s is ignored by an ignore file", opts.Requirements)
	}
	if script != "" && !archived(a, filepath.ToSlash(filepath.Clean(script))) {
		return nil, errs.Usage("take it out of .gitignore/.kfupignore (a '!' pattern in .kfupignore re-includes it)", "%s is ignored by an ignore file: it would not be sent", script)
	}
	s.Digest, s.Chunks = a.Digest, run.Chunks(len(a.Data))
	return &prepared{spec: s, archive: a, script: script}, nil
}

func archived(a *workspace.Archive, p string) bool {
	for _, f := range a.Files {
		if f.Path == p {
			return true
		}
	}
	return false
}

func runRun(ctx context.Context, api *runAPI, opts *RunOptions) error {
	p, err := prepareRun(opts, os.Getenv)
	if err != nil {
		return err
	}
	pr, out := api.f.Printer(), api.f.IO.Out
	a, s := p.archive, p.spec
	if opts.ShowFiles {
		for _, file := range a.Files {
			fmt.Fprintf(out, "%10s  %s\n", workspace.HumanBytes(file.Size), file.Path)
		}
		fmt.Fprintf(out, "%d files, %s (%s compressed, %d ConfigMap(s)), %s\n", len(a.Files), workspace.HumanBytes(a.Size), workspace.HumanBytes(int64(len(a.Data))), s.Chunks, a.Digest)
		return nil
	}
	if api.checkImage != nil && s.Requirements == "" && s.Kind != "mpi" {
		if err := api.checkImage(ctx, s.Image, s.Command[0]); err != nil {
			return err
		}
	}
	c, cs, exec, err := api.connect(ctx)
	if err != nil {
		return err
	}
	gvk := run.GVK(mustKind(s.Kind))
	if _, err := c.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
		if meta.IsNoMatchError(err) {
			return errs.Wrap(errs.KindNotFound, "install the training component: run 'kfup create' again (profile minimal has it) or --set components.training.enabled=true",
				fmt.Errorf("the cluster has no %s in kubeflow.org/v1 (the training API)", gvk.Kind))
		}
		return fmt.Errorf("look up the training API: %w", err)
	}
	if s.AgentImage, err = kfupImage(ctx, c); err != nil {
		return err
	}
	if err := c.Get(ctx, client.ObjectKey{Name: s.Namespace}, &corev1.Namespace{}); err != nil {
		if apierrors.IsNotFound(err) {
			return errs.Wrap(errs.KindNotFound, "create it (kubectl create namespace "+s.Namespace+") or pass another -n", fmt.Errorf("namespace %q does not exist", s.Namespace))
		}
		return fmt.Errorf("get namespace %s: %w", s.Namespace, err)
	}
	s.Name = opts.RunName
	if s.Name == "" {
		s.Name = generatedRunName(p.script, s.Command)
	}
	if opts.Bake {
		bake := api.bake
		if bake == nil {
			bake = func(ctx context.Context, base string, a *workspace.Archive) (string, error) {
				return bakeImage(ctx, api.f, base, a)
			}
		}
		start := api.now()
		img, err := bake(ctx, s.Image, a)
		if err != nil {
			return err
		}
		pr.Infof("✓ baked %s onto %s as %s (%s)", a.Digest[:19], s.Image, img, api.now().Sub(start).Round(10*time.Millisecond))
		s.Image, s.Baked = img, true
	}
	if _, err := run.DeleteOrphans(ctx, c, s.Namespace, api.now()); err != nil {
		pr.Debugf(1, "delete orphaned archives: %v", err)
	}
	var up *run.Upload
	if !s.Baked {
		start := api.now()
		up, err = run.EnsureArchive(ctx, c, s.Namespace, a.Digest, a.Data)
		if err != nil {
			_ = run.DeleteUnowned(context.WithoutCancel(ctx), c, s.Namespace, createdOf(up))
			var ce *run.ConflictError
			if errors.As(err, &ce) {
				return errs.Wrap(errs.KindConflict, "kfup run never changes objects it did not make", err)
			}
			return fmt.Errorf("send the archive: %w", err)
		}
		if up.Reused() {
			pr.Infof("✓ archive %s (%d files, %s) already in the cluster, not sent", a.Digest, len(a.Files), workspace.HumanBytes(a.Size))
		} else {
			pr.Infof("✓ archive %s (%d files, %s) sent: %s in %d ConfigMap(s) (%s)", a.Digest, len(a.Files), workspace.HumanBytes(a.Size),
				workspace.HumanBytes(up.BytesSent), len(up.Created), api.now().Sub(start).Round(time.Millisecond))
		}
	}
	job, err := run.Job(s)
	if err != nil {
		return errs.Usage("see 'kfup run --help'", "%v", err)
	}
	if err := c.Create(ctx, job); err != nil {
		_ = run.DeleteUnowned(context.WithoutCancel(ctx), c, s.Namespace, createdOf(up))
		if apierrors.IsAlreadyExists(err) {
			return errs.Wrap(errs.KindConflict, fmt.Sprintf("pick another --run-name, or delete the old run: kfup run rm %s%s", s.Name, nsFlag(s.Namespace)), fmt.Errorf("create %s: %w", gvk.Kind, err))
		}
		if apierrors.IsInvalid(err) {
			return errs.Wrap(errs.KindUsage, "check the flags against the message", fmt.Errorf("create %s: %w", gvk.Kind, err))
		}
		return fmt.Errorf("create %s %s/%s: %w", gvk.Kind, s.Namespace, s.Name, err)
	}
	if up != nil {
		if err := run.AddOwner(ctx, c, s.Namespace, up.Names, job); err != nil {
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
			defer cancel()
			_ = run.Stop(stopCtx, c, job, 10*time.Second)
			_ = run.DeleteUnowned(stopCtx, c, s.Namespace, up.Created)
			return err
		}
	}
	pr.Infof("• run %s: %s %s/%s (%s), image %s", s.Name, gvk.Kind, s.Namespace, s.Name, replicaSummary(s), s.Image)
	started := api.now()
	fw := &run.Follower{
		C: c, CS: cs, Exec: exec, Logs: run.NewMux(out), Status: run.NewMux(api.f.IO.ErrOut),
		OutputDir: filepath.Join(opts.OutputDir, s.Name), Poll: api.poll, Sleep: api.sleep,
		Drain: s.OutputWait + 15*time.Second,
	}
	res, err := fw.Follow(ctx, job)
	if err != nil {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
		defer cancel()
		var nc *run.NoCommandError
		switch {
		case ctx.Err() != nil:
			serr := run.Stop(stopCtx, c, job, 10*time.Second)
			if serr != nil {
				return errs.Wrap(errs.KindInterrupted, fmt.Sprintf("delete it: kfup run rm %s%s", s.Name, nsFlag(s.Namespace)), fmt.Errorf("interrupted; deleting %s %s: %w", gvk.Kind, s.Name, serr))
			}
			return errs.Wrap(errs.KindInterrupted, "run it again when you are ready", fmt.Errorf("interrupted: %s %s/%s deleted", gvk.Kind, s.Namespace, s.Name))
		case errors.As(err, &nc):
			_ = run.Stop(stopCtx, c, job, 10*time.Second)
			return errs.Wrap(errs.KindUsage, fmt.Sprintf("use an image that has %s (--image, or $%s), or run a command the image has; the run was deleted", s.Command[0], RunImageEnv), err)
		}
		return err
	}
	took := api.now().Sub(started).Round(100 * time.Millisecond)
	if opts.Rm {
		if err := c.Delete(context.WithoutCancel(ctx), job, client.PropagationPolicy("Background")); err != nil && !apierrors.IsNotFound(err) {
			pr.Warnf("delete %s %s: %v", gvk.Kind, s.Name, err)
		}
	}
	if res.State == trainingv1.JobSucceeded {
		for _, fl := range res.Failures {
			// the kind's success policy decided (a PyTorchJob succeeds with its master)
			pr.Warnf("%s, although the job succeeded (its success policy looks at the %s)", fl, leaderOf(s.Kind))
		}
		where := ""
		if len(res.Outputs) > 0 {
			where = "; outputs in " + fw.OutputDir
		}
		pr.Infof("✓ run %s succeeded in %s%s", s.Name, took, where)
		return nil
	}
	why := res.Message
	if len(res.Failures) > 0 {
		var parts []string
		for _, fl := range res.Failures {
			parts = append(parts, fl.String())
		}
		why = strings.Join(parts, "; ")
	}
	return errs.New(errs.KindUnknown, fmt.Sprintf("its logs: kfup run logs %s%s", s.Name, nsFlag(s.Namespace)), "run %s failed after %s: %s", s.Name, took, why)
}

// leaderOf names the replica whose end decides a job of kind's success.
func leaderOf(kind string) string {
	switch kind {
	case "pytorch", "xgboost":
		return "master"
	case "mpi":
		return "launcher"
	case "tfjob":
		return "chief or worker 0"
	}
	return "workers"
}

func createdOf(up *run.Upload) []string {
	if up == nil {
		return nil
	}
	return up.Created
}

func mustKind(k string) string {
	kind, _ := run.KindOf(k)
	return kind
}

func replicaSummary(s *run.Spec) string {
	switch s.Kind {
	case "pytorch", "xgboost":
		if s.Workers == 0 {
			return "1 master"
		}
		return fmt.Sprintf("1 master + %d worker(s)", s.Workers)
	case "tfjob":
		if s.PS > 0 {
			return fmt.Sprintf("%d ps + %d worker(s)", s.PS, s.Workers)
		}
	case "mpi":
		return fmt.Sprintf("1 launcher + %d worker(s)", s.Workers)
	}
	return fmt.Sprintf("%d worker(s)", s.Workers)
}

// kfupImage is the image of kfup's manager, which every node has: the run's helpers run
// from it. The manager's Deployment passes it to the manager as KFUP_IMAGE.
func kfupImage(ctx context.Context, c client.Client) (string, error) {
	d := &appsv1.Deployment{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: manager.Namespace, Name: manager.AppName}, d); err != nil {
		if apierrors.IsNotFound(err) {
			return "", errs.Wrap(errs.KindNotFound, "install it: run 'kfup create' again (every profile but none has it)", fmt.Errorf("kfup's manager (%s/%s) is not installed: its image runs the run's helpers", manager.Namespace, manager.AppName))
		}
		return "", fmt.Errorf("get kfup's manager: %w", err)
	}
	for _, ct := range d.Spec.Template.Spec.Containers {
		for _, e := range ct.Env {
			if e.Name == incluster.ImageEnv && e.Value != "" {
				return e.Value, nil
			}
		}
	}
	return "", errs.New(errs.KindNotFound, "run 'kfup create' again to update the manager", "kfup's manager Deployment names no %s", incluster.ImageEnv)
}
