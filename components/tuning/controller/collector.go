package controller

import (
	"errors"
	"fmt"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/components/tuning/engine"
	"github.com/kfup/kfup/internal/agent"
)

// The File and TensorFlowEvent collectors run `kfup agent metrics` from kfup's image as a
// native sidecar of the primary container (engine.InjectMetricsSidecar): it prints the
// metrics file's lines, or the event files' scalars as "<wall time> <metric>=<value>"
// (agent.EventLine), and the controller reads the sidecar's log (pods/log) as it reads
// the primary's for StdOut.

// The sidecar's resources: small (it reads a file a second), with limits so that a
// namespace whose quota asks for them still admits the trial's pods.
var (
	sidecarRequests = corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("10m"),
		corev1.ResourceMemory: resource.MustParse("32Mi"),
	}
	sidecarLimits = corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("500m"),
		corev1.ResourceMemory: resource.MustParse("128Mi"),
	}
)

// fileSource is a File or TensorFlowEvent collector's resolved source.
type fileSource struct {
	kind      tuningv1beta1.CollectorKind
	path      string
	directory bool
	format    tuningv1beta1.FileFormat
}

// sidecarCollected reports whether the collector kind reads through the metrics sidecar.
func sidecarCollected(k tuningv1beta1.CollectorKind) bool {
	return k == tuningv1beta1.FileCollector || k == tuningv1beta1.TfEventCollector
}

// resolveFileSource applies Katib's defaults (File: /var/log/katib/metrics.log, TEXT;
// TensorFlowEvent: /var/log/katib/tfevent/, Directory) and refuses what the sidecar
// cannot read.
func resolveFileSource(m *tuningv1beta1.MetricsCollectorSpec) (fileSource, error) {
	k := m.CollectorKind()
	var fp tuningv1beta1.FileSystemPath
	if m != nil && m.Source != nil && m.Source.FileSystemPath != nil {
		fp = *m.Source.FileSystemPath
	}
	s := fileSource{kind: k, path: fp.Path, format: fp.Format}
	switch k {
	case tuningv1beta1.FileCollector:
		if s.path == "" {
			s.path = tuningv1beta1.DefaultFilePath
		}
		if fp.Kind != "" && fp.Kind != tuningv1beta1.FileKind {
			return s, fmt.Errorf("metrics collector File reads one file: set source.fileSystemPath.kind to File, not %s", fp.Kind)
		}
		if s.format == "" {
			s.format = tuningv1beta1.TextFormat
		}
		if strings.HasSuffix(s.path, "/") {
			return s, fmt.Errorf("metrics collector File: source.fileSystemPath.path %q is a directory: name the file the training code writes", s.path)
		}
	case tuningv1beta1.TfEventCollector:
		if s.path == "" {
			s.path = tuningv1beta1.DefaultTensorflowEventDirPath
		}
		if fp.Kind != "" && fp.Kind != tuningv1beta1.DirectoryKind {
			return s, fmt.Errorf("metrics collector TensorFlowEvent reads a directory of event files: set source.fileSystemPath.kind to Directory, not %s", fp.Kind)
		}
		if s.format != "" {
			return s, fmt.Errorf("metrics collector TensorFlowEvent reads event files, which have no format: remove source.fileSystemPath.format (%s)", s.format)
		}
		if m.Source != nil && m.Source.Filter != nil && len(m.Source.Filter.MetricsFormat) > 0 {
			return s, errors.New("metrics collector TensorFlowEvent reads the event files' tags: remove source.filter.metricsFormat")
		}
		s.directory = true
	default:
		return s, fmt.Errorf("metrics collector %s reads no file", k)
	}
	if !path.IsAbs(s.path) {
		return s, fmt.Errorf("metrics collector %s: source.fileSystemPath.path %q is not absolute: write the path in the primary container, such as %s", k, s.path, tuningv1beta1.DefaultFilePath)
	}
	if engine.MetricsDir(s.path, s.directory) == "/" {
		return s, fmt.Errorf("metrics collector %s: source.fileSystemPath.path %q is at the root: kfup shares its directory with a sidecar, so use a directory such as /var/log/katib", k, s.path)
	}
	return s, nil
}

// sidecarContainer is the metrics sidecar of source s, run from image; a TensorFlowEvent
// sidecar is told the metrics to find in the event files (Katib's names, such as
// train/accuracy).
func sidecarContainer(image string, s fileSource, metrics []string) corev1.Container {
	cmd := []string{"/kfup", "agent", "metrics", "--kind", "file", "--path", s.path, "--format", strings.ToLower(string(s.format))}
	if s.kind == tuningv1beta1.TfEventCollector {
		cmd = []string{"/kfup", "agent", "metrics", "--kind", "tfevent", "--path", s.path}
		for _, m := range metrics {
			cmd = append(cmd, "--metric", m)
		}
	}
	return corev1.Container{
		Image:           image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Command:         cmd,
		Resources:       corev1.ResourceRequirements{Requests: sidecarRequests.DeepCopy(), Limits: sidecarLimits.DeepCopy()},
		SecurityContext: agent.SecurityContext(),
	}
}

// injectCollector adds the metrics sidecar of collector m to run, a trial's job whose
// primary container is primary and whose metrics are metrics (the objective first); it
// changes nothing for the other collectors.
func injectCollector(run *unstructured.Unstructured, m *tuningv1beta1.MetricsCollectorSpec, primary, image string, metrics []string) error {
	k := m.CollectorKind()
	if !sidecarCollected(k) {
		return nil
	}
	s, err := resolveFileSource(m)
	if err != nil {
		return err
	}
	if image == "" {
		return fmt.Errorf("metrics collector %s runs kfup's image as a sidecar, and the manager does not know it: set KFUP_IMAGE on the manager", k)
	}
	n, err := engine.InjectMetricsSidecar(run, primary, sidecarContainer(image, s, metrics), engine.MetricsDir(s.path, s.directory))
	if err != nil {
		return fmt.Errorf("metrics collector %s: %w", k, err)
	}
	if n == 0 {
		return fmt.Errorf("metrics collector %s needs a pod template with the primary container %q: kfup injects its sidecar into batch Jobs and kubeflow.org/v1 training jobs", k, primary)
	}
	return nil
}

// metricsContainer is the container whose log holds the trial's metrics.
func metricsContainer(t *tuningv1beta1.Trial) string {
	if sidecarCollected(t.Spec.MetricsCollector.CollectorKind()) {
		return engine.MetricsContainerName
	}
	return t.Spec.PrimaryContainerName
}

// unavailableMessage says what to print when a run succeeded without the objective.
func unavailableMessage(t *tuningv1beta1.Trial, kind string) string {
	name := t.Spec.Objective.ObjectiveMetricName
	switch k := t.Spec.MetricsCollector.CollectorKind(); k {
	case tuningv1beta1.FileCollector:
		s, _ := resolveFileSource(&t.Spec.MetricsCollector)
		return fmt.Sprintf("%s succeeded but container %q wrote no %s to %s: write lines such as %s=0.5 (or set metricsCollectorSpec.source.filter.metricsFormat)", kind, t.Spec.PrimaryContainerName, name, s.path, name)
	case tuningv1beta1.TfEventCollector:
		s, _ := resolveFileSource(&t.Spec.MetricsCollector)
		return fmt.Sprintf("%s succeeded but container %q wrote no scalar summary tagged %s to event files under %s", kind, t.Spec.PrimaryContainerName, name, s.path)
	case tuningv1beta1.PushCollector:
		return fmt.Sprintf("%s succeeded but its code reported no %s: call katib.report_metrics({%q: 0.5}) (or kfup agent push %s=0.5)", kind, name, name, name)
	}
	return fmt.Sprintf("%s succeeded but container %q printed no %s: print lines such as %s=0.5 (or set metricsCollectorSpec.source.filter.metricsFormat)",
		kind, t.Spec.PrimaryContainerName, name, name)
}
