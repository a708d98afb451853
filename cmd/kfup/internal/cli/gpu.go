package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/kfup/kfup/gpu"
)

// GPUOptions are the flags of `kfup gpu list`.
type GPUOptions struct {
	Output string
}

// NewCmdGPU returns `kfup gpu` with its list subcommand; runF replaces the real run in
// tests.
func NewCmdGPU(f *Factory, runF func(context.Context, *GPUOptions) error) *cobra.Command {
	opts := &GPUOptions{}
	cmd := &cobra.Command{
		Use:   "gpu",
		Short: "Show this host's NVIDIA GPUs",
		Long: `The NVIDIA GPUs of this host, as 'kfup create --gpu' will see them: found through NVML
when kfup was built with cgo, else with nvidia-smi (the released binaries are static and
use nvidia-smi). A host without a driver, or a driver without GPUs, fails with exit 3.`,
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the GPUs: index, name, UUID, memory, compute capability, MIG devices",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := validateOutput(opts.Output); err != nil {
				return err
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runGPUList(cmd.Context(), f, opts)
		},
	}
	list.Flags().StringVarP(&opts.Output, "output", "o", OutputTable, "output format: table, json or yaml")
	cmd.AddCommand(list)
	return cmd
}

func runGPUList(ctx context.Context, f *Factory, opts *GPUOptions) error {
	inv, err := f.GPUs(ctx)
	if err != nil {
		return err
	}
	if opts.Output != OutputTable {
		return writeStructured(f.IO.Out, opts.Output, inv)
	}
	return writeGPUTable(f, inv)
}

// writeGPUTable prints one row per GPU and, under a GPU with MIG on, one per MIG device
// (named <gpu>:<mig>, as the CDI spec names them).
func writeGPUTable(f *Factory, inv *gpu.Inventory) error {
	cuda := inv.CUDAVersion
	if cuda == "" {
		cuda = "unknown"
	}
	fmt.Fprintf(f.IO.Out, "Driver %s, CUDA %s (found with %s)\n\n", inv.DriverVersion, cuda, inv.Source)
	tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tNAME\tUUID\tMEMORY\tCOMPUTE\tMIG")
	for _, d := range inv.GPUs {
		mig := "off"
		if d.MIGEnabled {
			mig = fmt.Sprintf("on (%d devices)", len(d.MIGDevices))
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", d.Index, d.Name, d.UUID, mib(d.MemoryMiB), orDash(d.ComputeCapability), mig)
		for _, m := range d.MIGDevices {
			fmt.Fprintf(tw, "%d:%d\t  MIG %s\t%s\t%s\t\t\n", d.Index, m.Index, m.Profile, m.UUID, mib(m.MemoryMiB))
		}
	}
	return tw.Flush()
}

func mib(n uint64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%d MiB", n)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
