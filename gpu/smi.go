package gpu

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// smiFields are the --query-gpu fields kfup reads, in order. compute_cap and
// mig.mode.current are newer than the rest (drivers before 510 reject compute_cap), so a
// driver that rejects them is asked again for smiBaseFields only.
var (
	smiFields     = []string{"index", "uuid", "name", "pci.bus_id", "memory.total", "driver_version", "compute_cap", "mig.mode.current"}
	smiBaseFields = smiFields[:6]
)

// CommandError is a command that ran and failed; Output holds what it printed on stdout
// and stderr (nvidia-smi prints its errors on stdout).
type CommandError struct {
	Cmd    string
	Code   int
	Output string
}

// Error returns the command, its exit code and its output's first line.
func (e *CommandError) Error() string {
	out, _, _ := strings.Cut(strings.TrimSpace(e.Output), "\n")
	return fmt.Sprintf("%s: exit status %d: %s", e.Cmd, e.Code, out)
}

// execRunner runs a host command; a failed run becomes a *CommandError.
func execRunner(ctx context.Context, name string, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && ctx.Err() == nil {
		return stdout.Bytes(), &CommandError{Cmd: name, Code: exit.ExitCode(), Output: stdout.String() + stderr.String()}
	}
	return stdout.Bytes(), err
}

// discoverSMI asks nvidia-smi: --query-gpu for the devices, its banner for the CUDA
// version, -L for MIG devices (only when a GPU has MIG on), and /proc/driver/nvidia for
// minor numbers, which --query-gpu does not print.
func discoverSMI(ctx context.Context, o *options) (*Inventory, error) {
	out, err := querySMI(ctx, o.run, smiFields)
	if err != nil && isBadField(err) {
		out, err = querySMI(ctx, o.run, smiBaseFields)
	}
	if err != nil {
		return nil, smiError(err)
	}
	inv, err := ParseQueryGPU(out)
	if err != nil {
		return nil, err
	}
	if len(inv.GPUs) == 0 {
		return nil, fmt.Errorf("nvidia-smi: %w", ErrNoDevices)
	}
	if banner, err := o.run(ctx, "nvidia-smi"); err == nil {
		inv.CUDAVersion = ParseCUDAVersion(banner)
	}
	for i := range inv.GPUs {
		d := &inv.GPUs[i]
		d.Minor = d.Index
		if m, ok := procMinor(o.procRoot, d.PCIBusID); ok {
			d.Minor = m
		}
	}
	if inv.hasMIG() {
		list, err := o.run(ctx, "nvidia-smi", "-L")
		if err != nil {
			return nil, fmt.Errorf("list MIG devices: %w", smiError(err))
		}
		migs, err := ParseListMIG(list)
		if err != nil {
			return nil, err
		}
		for i := range inv.GPUs {
			inv.GPUs[i].MIGDevices = migs[inv.GPUs[i].UUID]
		}
	}
	return inv, nil
}

func querySMI(ctx context.Context, run Runner, fields []string) ([]byte, error) {
	return run(ctx, "nvidia-smi", "--query-gpu="+strings.Join(fields, ","), "--format=csv,noheader,nounits")
}

func isBadField(err error) bool {
	var ce *CommandError
	return errors.As(err, &ce) && strings.Contains(ce.Output, "is not a valid field to query")
}

// smiError maps nvidia-smi's ways of saying "no driver" and "no devices" to ErrNoDriver
// and ErrNoDevices.
func smiError(err error) error {
	var ce *CommandError
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return fmt.Errorf("%w: nvidia-smi is not on PATH", ErrNoDriver)
	case errors.As(err, &ce) && strings.Contains(ce.Output, "No devices were found"):
		return fmt.Errorf("nvidia-smi: %w", ErrNoDevices)
	case errors.As(err, &ce) && (strings.Contains(ce.Output, "couldn't communicate with the NVIDIA driver") ||
		strings.Contains(ce.Output, "Driver/library version mismatch")):
		out, _, _ := strings.Cut(strings.TrimSpace(ce.Output), "\n")
		return fmt.Errorf("%w: nvidia-smi: %s", ErrNoDriver, out)
	}
	return fmt.Errorf("nvidia-smi: %w", err)
}

// ParseQueryGPU parses `nvidia-smi --query-gpu=<smiFields or smiBaseFields>
// --format=csv,noheader,nounits`: one line per GPU, fields separated by ", ". "[N/A]"
// and "[Not Supported]" read as unknown. A line with the wrong number of fields or a bad
// number is an error naming the line.
func ParseQueryGPU(out []byte) (*Inventory, error) {
	inv := &Inventory{Source: SourceNVIDIASMI}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) != len(smiFields) && len(f) != len(smiBaseFields) {
			return nil, fmt.Errorf("nvidia-smi line %d: %d fields, want %d: %q", n, len(f), len(smiFields), line)
		}
		for i := range f {
			f[i] = smiValue(f[i])
		}
		idx, err := strconv.Atoi(f[0])
		if err != nil {
			return nil, fmt.Errorf("nvidia-smi line %d: index %q is not a number", n, f[0])
		}
		var mem uint64
		if f[4] != "" {
			mem, err = strconv.ParseUint(strings.TrimSuffix(f[4], " MiB"), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("nvidia-smi line %d: memory.total %q is not a number of MiB", n, f[4])
			}
		}
		if f[1] == "" {
			return nil, fmt.Errorf("nvidia-smi line %d: GPU %d has no UUID", n, idx)
		}
		d := Device{Index: idx, Minor: idx, UUID: f[1], Name: f[2], PCIBusID: f[3], MemoryMiB: mem}
		if len(f) == len(smiFields) {
			d.ComputeCapability = f[6]
			d.MIGEnabled = f[7] == "Enabled"
		}
		inv.DriverVersion = f[5]
		inv.GPUs = append(inv.GPUs, d)
	}
	return inv, sc.Err()
}

// smiValue trims a CSV field and reads nvidia-smi's placeholders as empty.
func smiValue(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") { // [N/A], [Not Supported], [Unknown Error]
		return ""
	}
	return s
}

var cudaVersionRE = regexp.MustCompile(`CUDA Version:\s*([0-9]+\.[0-9]+)`)

// ParseCUDAVersion returns the "CUDA Version: X.Y" of nvidia-smi's banner, or "".
func ParseCUDAVersion(banner []byte) string {
	if m := cudaVersionRE.FindSubmatch(banner); m != nil {
		return string(m[1])
	}
	return ""
}

var (
	listGPURE = regexp.MustCompile(`^GPU (\d+): .*\(UUID: (GPU-[^)]+)\)`)
	listMIGRE = regexp.MustCompile(`^\s+MIG (\S+)\s+Device\s+(\d+): \(UUID: (MIG-[^)]+)\)`)
)

// ParseListMIG parses `nvidia-smi -L` into each GPU UUID's MIG devices. Lines it does not
// know (a future format) are skipped; a MIG line before any GPU line is an error.
func ParseListMIG(out []byte) (map[string][]MIGDevice, error) {
	migs := map[string][]MIGDevice{}
	parent := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := listGPURE.FindStringSubmatch(line); m != nil {
			parent = m[2]
			continue
		}
		m := listMIGRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if parent == "" {
			return nil, fmt.Errorf("nvidia-smi -L line %d: MIG device before any GPU: %q", n, line)
		}
		idx, _ := strconv.Atoi(m[2]) // the pattern only matches digits
		migs[parent] = append(migs[parent], MIGDevice{Index: idx, UUID: m[3], Profile: m[1], MemoryMiB: profileMemoryMiB(m[1])})
	}
	return migs, sc.Err()
}

// profileMemoryMiB reads the memory of a MIG profile name ("1g.5gb" → 5 GiB); 0 when the
// name has none.
func profileMemoryMiB(profile string) uint64 {
	i := strings.LastIndexByte(profile, '.')
	gb, err := strconv.ParseUint(strings.TrimSuffix(profile[i+1:], "gb"), 10, 64)
	if err != nil {
		return 0
	}
	return gb * 1024
}

// procMinor reads the device minor of the GPU at PCI address busID from
// /proc/driver/nvidia/gpus/<address>/information ("Device Minor: 0").
func procMinor(procRoot, busID string) (int, bool) {
	addr, ok := procAddress(busID)
	if !ok {
		return 0, false
	}
	b, err := os.ReadFile(filepath.Join(procRoot, "proc/driver/nvidia/gpus", addr, "information"))
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Device Minor:"); ok {
			m, err := strconv.Atoi(strings.TrimSpace(v))
			return m, err == nil
		}
	}
	return 0, false
}

// procAddress turns nvidia-smi's "00000000:07:00.0" into the kernel's "0000:07:00.0".
func procAddress(busID string) (string, bool) {
	domain, rest, ok := strings.Cut(strings.ToLower(busID), ":")
	if !ok {
		return "", false
	}
	d, err := strconv.ParseUint(domain, 16, 32)
	if err != nil {
		return "", false
	}
	return fmt.Sprintf("%04x:%s", d, rest), true
}

func (inv *Inventory) hasMIG() bool {
	for _, d := range inv.GPUs {
		if d.MIGEnabled {
			return true
		}
	}
	return false
}
