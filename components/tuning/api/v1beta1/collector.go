package v1beta1

// CollectorKind is the collector's kind: StdOut when unset, as in Katib. A nil spec is
// StdOut too.
func (m *MetricsCollectorSpec) CollectorKind() CollectorKind {
	if m == nil || m.Collector == nil || m.Collector.Kind == "" {
		return StdOutCollector
	}
	return m.Collector.Kind
}
