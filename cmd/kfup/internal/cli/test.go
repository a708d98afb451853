package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/components/nvidia"
	"github.com/kfup/kfup/gpu"
	"github.com/kfup/kfup/internal/errs"
	"github.com/kfup/kfup/platform"
)

// TestOptions are the flags of `kfup test`.
type TestOptions struct {
	Name       string
	Components []string
	Timeout    time.Duration
	Output     string
	// GPU runs the GPU smoke test after the components' (--gpu), with the nvidia-smi
	// pod's image GPUImage, the optional PyTorch pod's GPUImagePyTorch, within GPUTimeout.
	GPU             bool
	GPUImage        string
	GPUImagePyTorch string
	GPUTimeout      time.Duration
}

// NewCmdTest returns `kfup test`; runF replaces the real run in tests.
func NewCmdTest(f *Factory, runF func(context.Context, *TestOptions) error) *cobra.Command {
	opts := &TestOptions{}
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Run the smoke tests of the installed components against the live cluster",
		Long: `Run the smoke test of every installed component (or of --component X) against the
live cluster.

With --gpu, then run GPU work on a cluster made with kfup create --gpu: check that a node
advertises nvidia.com/gpu (or nvidia.com/gpu.shared, nvidia.com/mig-*), run a pod that
requests one and lists its GPU with nvidia-smi -L (image --gpu-image), and with
--gpu-image-pytorch a PyTorch pod that checks torch.cuda.is_available() and a CUDA matmul
against the CPU's. The pods run in the default namespace and are deleted afterwards.
An offline cluster must have the images loaded into its node first (docs/gpu.md).`,
		Example: `  kfup test
  kfup test --component training
  kfup test --gpu
  kfup test --gpu --gpu-image-pytorch ` + nvidia.ExamplePyTorchImage,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Name = f.Global.Name
			if err := bootstrap.ValidateName(opts.Name); err != nil {
				return err
			}
			if err := validateOutput(opts.Output); err != nil {
				return err
			}
			if opts.Timeout <= 0 {
				return errs.Usage("pass a positive duration such as --timeout 2m", "--timeout must be positive")
			}
			if opts.GPU && (opts.GPUTimeout <= 0 || opts.GPUImage == "") {
				return errs.Usage("pass --gpu-timeout 10m and a --gpu-image", "--gpu-timeout must be positive and --gpu-image set")
			}
			if !opts.GPU && (cmd.Flags().Changed("gpu-image") || opts.GPUImagePyTorch != "" || cmd.Flags().Changed("gpu-timeout")) {
				return errs.Usage("add --gpu", "--gpu-image, --gpu-image-pytorch and --gpu-timeout need --gpu")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runTest(cmd.Context(), f, opts)
		},
	}
	cmd.Flags().StringArrayVar(&opts.Components, "component", nil, "test only this component (repeatable)")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 2*time.Minute, "time limit per component")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", OutputTable, "output format: table, json or yaml")
	cmd.Flags().BoolVar(&opts.GPU, "gpu", false, "also run the GPU smoke test (needs the nvidia component: kfup create --gpu)")
	cmd.Flags().StringVar(&opts.GPUImage, "gpu-image", nvidia.DefaultSMIImage, "with --gpu: the CUDA image of the nvidia-smi pod")
	cmd.Flags().StringVar(&opts.GPUImagePyTorch, "gpu-image-pytorch", "", "with --gpu: also run a PyTorch CUDA matmul pod from this image (e.g. "+nvidia.ExamplePyTorchImage+")")
	cmd.Flags().DurationVar(&opts.GPUTimeout, "gpu-timeout", 10*time.Minute, "with --gpu: time limit of the GPU smoke test (image pulls included)")
	return cmd
}

func runTest(ctx context.Context, f *Factory, opts *TestOptions) error {
	env, rec, err := f.Cluster(opts.Name)
	if err != nil {
		return err
	}
	if opts.GPU && !slices.Contains(rec.Components, nvidia.Name) {
		return errs.New(errs.KindNotFound, fmt.Sprintf("create it with 'kfup create --gpu --name %s' (GPUs are wired in at creation)", opts.Name),
			"cluster %q has no nvidia component: it was created without --gpu", opts.Name)
	}
	if len(rec.Components) == 0 {
		return errs.New(errs.KindNotFound, fmt.Sprintf("install some with 'kfup create --name %s --profile minimal'", opts.Name), "cluster %q has no components installed", opts.Name)
	}
	var cudaRow *bootstrap.ComponentHealth
	if opts.GPU && opts.GPUImagePyTorch != "" {
		// before any smoke test: a PyTorch image the driver cannot run fails in the pod
		// only after its (large) pull, with CUDA's own error
		row, err := checkPyTorchCUDA(ctx, f, env.Store, rec, opts.GPUImagePyTorch)
		if err != nil {
			return errs.Wrap(errs.KindPreflight, errs.HintOf(err), fmt.Errorf("--gpu-image-pytorch: %w", err))
		}
		cudaRow = &row
	}
	st := f.Printer().Step("Running smoke tests")
	results, err := platform.CheckComponents(ctx, env, rec, opts.Components, true, opts.Timeout)
	if err != nil {
		st.Fail()
		return errs.Wrap(errs.KindUsage, "", err)
	}
	failed := 0
	for _, r := range results {
		if !r.Healthy {
			failed++
		}
	}
	st.End(nil)
	var gpuErr error
	if opts.GPU {
		var rows []bootstrap.ComponentHealth
		rows, gpuErr = runGPUSmoke(ctx, f, env, rec, opts)
		if cudaRow != nil {
			rows = append([]bootstrap.ComponentHealth{*cudaRow}, rows...)
		}
		results = append(results, rows...)
		for _, r := range rows {
			if !r.Healthy {
				failed++
			}
		}
	}
	if opts.Output != OutputTable {
		if err := writeStructured(f.IO.Out, opts.Output, results); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
		for _, r := range results {
			mark := "✓ pass"
			if !r.Healthy {
				mark = "✗ fail"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", mark, r.Name, r.Message)
		}
		tw.Flush()
	}
	if gpuErr != nil {
		return errs.Wrap(errs.KindOf(gpuErr), "run 'kfup doctor --gpu'; see docs/gpu.md", gpuErr)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d component smoke tests failed", failed, len(results))
	}
	return nil
}

// runGPUSmoke runs nvidia.RunGPUSmoke against cluster rec; its steps come back as rows
// named "gpu: <step>", beside the components'.
func runGPUSmoke(ctx context.Context, f *Factory, env *bootstrap.Env, rec *bootstrap.Record, opts *TestOptions) ([]bootstrap.ComponentHealth, error) {
	cfg := env.REST
	if cfg == nil {
		var err error
		if cfg, err = bootstrap.RESTConfig(rec.Context, rec.Kubeconfig); err != nil {
			return nil, err
		}
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, opts.GPUTimeout)
	defer cancel()
	st := f.Printer().Step("Running the GPU smoke test")
	res, err := nvidia.RunGPUSmoke(ctx, cs, nvidia.GPUSmokeOptions{SMIImage: opts.GPUImage, PyTorchImage: opts.GPUImagePyTorch})
	st.End(err)
	return gpuRows(res), err
}

// gpuRows turns the GPU smoke steps into result rows.
func gpuRows(res []nvidia.GPUSmokeResult) []bootstrap.ComponentHealth {
	rows := make([]bootstrap.ComponentHealth, 0, len(res))
	for _, r := range res {
		rows = append(rows, bootstrap.ComponentHealth{Name: "gpu: " + r.Name, Healthy: r.Healthy, Message: r.Message})
	}
	return rows
}

// checkPyTorchCUDA compares the CUDA version the PyTorch image needs (its environment in
// the local Docker when it is there, else its tag) with the one the GPU node's driver
// supports. For a kind cluster that is the host's driver: discovery now, else the
// inventory kfup create --gpu recorded in the cluster's directory. For another provider
// this host's GPUs say nothing about the nodes', so only a recorded inventory counts. A
// driver of an older CUDA major is an error with the fix (nvidia.CheckImageCUDA);
// otherwise a row that says what was compared.
func checkPyTorchCUDA(ctx context.Context, f *Factory, store bootstrap.Store, rec *bootstrap.Record, image string) (bootstrap.ComponentHealth, error) {
	driverCUDA := ""
	if rec.Provider == bootstrap.ProviderKind {
		if inv, err := f.GPUs(ctx); err == nil {
			driverCUDA = inv.CUDAVersion
		}
	}
	if driverCUDA == "" {
		if b, err := os.ReadFile(filepath.Join(store.ClusterDir(rec.Name), "gpu", "inventory.json")); err == nil {
			var recorded gpu.Inventory
			if json.Unmarshal(b, &recorded) == nil {
				driverCUDA = recorded.CUDAVersion
			}
		}
	}
	var env []string
	if f.ImageEnv != nil {
		env = f.ImageEnv(ctx, image)
	}
	need, source := nvidia.ImageCUDA(image, env)
	note, err := nvidia.CheckImageCUDA(image, need, source, driverCUDA)
	if err != nil {
		return bootstrap.ComponentHealth{}, err
	}
	return bootstrap.ComponentHealth{Name: "gpu: cuda version", Healthy: true, Message: note}, nil
}
