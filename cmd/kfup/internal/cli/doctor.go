package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kfup/kfup/bootstrap"
	"github.com/kfup/kfup/bootstrap/preflight"
	"github.com/kfup/kfup/gpu/deviceplugin"
	"github.com/kfup/kfup/internal/errs"
)

// DoctorOptions are the flags of `kfup doctor`.
type DoctorOptions struct {
	Output        string
	HTTPPort      int
	HTTPSPort     int
	ListenAddress string
	NodeImage     string
	// GPU adds the NVIDIA checks (--gpu); GPUMIGStrategy and GPUDockerProbe shape them.
	GPU            bool
	GPUMIGStrategy string
	GPUDockerProbe bool
}

// NewCmdDoctor returns `kfup doctor`; runF replaces the real run in tests.
func NewCmdDoctor(f *Factory, runF func(context.Context, *DoctorOptions) error) *cobra.Command {
	opts := &DoctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check that this host can run a kfup cluster, with a fix for each problem",
		Long: `Check Docker, the cgroup version, CPUs, memory, disk, inotify limits, the ingress host
ports and the node image. Each check passes, warns or fails, with a one-line fix.
Exits 3 when a check fails (kfup create would refuse), 0 otherwise.

With --gpu, also check what kfup create --gpu needs: the NVIDIA kernel module and its
version, /dev/nvidiactl, /dev/nvidia<N> and /dev/nvidia-uvm, GPU discovery, the driver
libraries the CDI spec mounts, Docker's device access (--gpu-docker-probe runs a
container to try it), the container toolkit (not needed on kfup's CDI path) and each
GPU's MIG mode against --gpu-mig-strategy.`,
		Example: `  kfup doctor
  kfup doctor --gpu
  kfup doctor --gpu --gpu-mig-strategy mixed --gpu-docker-probe`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := validateOutput(opts.Output); err != nil {
				return err
			}
			if !deviceplugin.ValidMIGStrategy(opts.GPUMIGStrategy) {
				return errs.Usage("pass --gpu-mig-strategy none, single or mixed", "unknown --gpu-mig-strategy %q", opts.GPUMIGStrategy)
			}
			if !opts.GPU && (cmd.Flags().Changed("gpu-mig-strategy") || opts.GPUDockerProbe) {
				return errs.Usage("add --gpu", "--gpu-mig-strategy and --gpu-docker-probe need --gpu")
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			env, err := f.Env()
			if err != nil {
				return err
			}
			return runDoctor(cmd.Context(), f.IO.Out, env.Probes, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", OutputTable, "output format: table, json or yaml")
	cmd.Flags().IntVar(&opts.HTTPPort, "http-port", 80, "ingress HTTP host port to check")
	cmd.Flags().IntVar(&opts.HTTPSPort, "https-port", 443, "ingress HTTPS host port to check")
	cmd.Flags().StringVar(&opts.ListenAddress, "listen-address", "127.0.0.1", "host address the ingress ports bind to")
	cmd.Flags().StringVar(&opts.NodeImage, "node-image", "", "node image to look for (default: as kfup create)")
	cmd.Flags().BoolVar(&opts.GPU, "gpu", false, "also check the NVIDIA driver, device nodes and MIG modes kfup create --gpu needs")
	cmd.Flags().StringVar(&opts.GPUMIGStrategy, "gpu-mig-strategy", deviceplugin.MIGNone, "with --gpu: the MIG strategy to check the GPUs against (none, single, mixed)")
	cmd.Flags().BoolVar(&opts.GPUDockerProbe, "gpu-docker-probe", false, "with --gpu: run a privileged container from the node image to check it gets the device nodes")
	return cmd
}

func runDoctor(ctx context.Context, out io.Writer, probes preflight.Probes, opts *DoctorOptions) error {
	po := preflight.Options{
		ListenAddress: opts.ListenAddress,
		Ports: []preflight.Port{
			{Port: opts.HTTPPort, Flag: "http-port"},
			{Port: opts.HTTPSPort, Flag: "https-port"},
		},
		NodeImage: bootstrap.ResolveNodeImage(opts.NodeImage),
	}
	if opts.GPU {
		po.GPU = &preflight.GPUOptions{MIGStrategy: opts.GPUMIGStrategy, DockerProbe: opts.GPUDockerProbe, ProbeImage: po.NodeImage}
	}
	checks := preflight.Run(ctx, probes, po)
	if opts.Output != OutputTable {
		if err := writeStructured(out, opts.Output, checks); err != nil {
			return err
		}
	} else {
		printChecks(out, checks)
	}
	if failed := preflight.Failed(checks); len(failed) > 0 {
		return errs.New(errs.KindPreflight, failed[0].Fix, "%d check(s) failed: %s", len(failed), failed[0].Name)
	}
	return nil
}

func printChecks(w io.Writer, checks []preflight.Check) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range checks {
		mark := map[preflight.Status]string{preflight.Pass: "✓ pass", preflight.Warn: "! warn", preflight.Fail: "✗ fail"}[c.Status]
		fmt.Fprintf(tw, "%s\t%s\t%s\n", mark, c.Name, c.Detail)
		if c.Fix != "" && c.Status != preflight.Pass {
			fmt.Fprintf(tw, "\t\t→ fix: %s\n", c.Fix)
		}
	}
	tw.Flush()
}
