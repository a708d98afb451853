package v1beta1

import "slices"

// MetricNames are the metrics an objective collects: the objective metric first, then
// the additional ones, each once. A nil objective has none.
func (o *ObjectiveSpec) MetricNames() []string {
	if o == nil {
		return nil
	}
	out := []string{o.ObjectiveMetricName}
	for _, n := range o.AdditionalMetricNames {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
