package engine

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kfup/kfup/components/pipelines/ir"
)

// nodeSelector sets the node selector: the labels, or the JSON parameter when set.
func (b *builder) nodeSelector() error {
	ns := b.cfg.NodeSelector
	if ns == nil {
		return nil
	}
	labels := ns.Labels
	f := b.field("nodeSelector.labels")
	if ns.NodeSelectorJSON != nil {
		f = b.field("nodeSelector.nodeSelectorJson")
		v, skip, err := b.jsonParam(f, ns.NodeSelectorJSON)
		if err != nil || skip {
			return err
		}
		labels = nil
		if err := decodeStrict(v, &labels); err != nil {
			return b.errf(f, "not a map of node labels: %v", err)
		}
	}
	if err := checkLabels(labels); err != nil {
		return b.errf(f, "%v", err)
	}
	b.pod.Spec.NodeSelector = copyMap(labels)
	return nil
}

// tolerations adds the tolerations: literal, or a JSON parameter holding one or a list.
func (b *builder) tolerations() error {
	for i, t := range b.cfg.Tolerations {
		f := b.field("tolerations[%d]", i)
		if t.TolerationJSON != nil {
			f += ".tolerationJson"
			v, _, err := b.jsonParam(f, t.TolerationJSON)
			if err != nil {
				return err
			}
			var list []corev1.Toleration
			switch x := v.(type) {
			case nil:
			case map[string]any:
				if len(x) > 0 {
					var one corev1.Toleration
					if err := decodeStrict(x, &one); err != nil {
						return b.errf(f, "not a toleration: %v", err)
					}
					list = []corev1.Toleration{one}
				}
			case []any:
				if err := decodeStrict(x, &list); err != nil {
					return b.errf(f, "not a list of tolerations: %v", err)
				}
			default:
				return b.errf(f, "%s is neither a toleration nor a list of them", short(v))
			}
			for _, tol := range list {
				if err := checkToleration(tol); err != nil {
					return b.errf(f, "%v", err)
				}
			}
			b.pod.Spec.Tolerations = append(b.pod.Spec.Tolerations, list...)
			continue
		}
		tol := corev1.Toleration{
			Key: t.Key, Operator: corev1.TolerationOperator(t.Operator), Value: t.Value, Effect: corev1.TaintEffect(t.Effect),
		}
		if t.TolerationSeconds != nil {
			n, err := toInt64(t.TolerationSeconds)
			if err != nil {
				return b.errf(f+".tolerationSeconds", "%v", err)
			}
			tol.TolerationSeconds = &n
		}
		if err := checkToleration(tol); err != nil {
			return b.errf(f, "%v", err)
		}
		b.pod.Spec.Tolerations = append(b.pod.Spec.Tolerations, tol)
	}
	return nil
}

func checkToleration(t corev1.Toleration) error {
	switch t.Operator {
	case "", corev1.TolerationOpEqual:
		if t.Key == "" {
			return fmt.Errorf("operator Equal needs a key")
		}
	case corev1.TolerationOpExists:
		if t.Value != "" {
			return fmt.Errorf("operator Exists takes no value")
		}
	default:
		return fmt.Errorf("operator %q: want Equal or Exists", t.Operator)
	}
	switch t.Effect {
	case "", corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
	default:
		return fmt.Errorf("effect %q: want NoSchedule, PreferNoSchedule or NoExecute", t.Effect)
	}
	if t.Key != "" {
		if errs := content.IsLabelKey(t.Key); len(errs) > 0 {
			return fmt.Errorf("key %q: %s", t.Key, strings.Join(errs, "; "))
		}
	}
	if t.TolerationSeconds != nil && t.Effect != corev1.TaintEffectNoExecute {
		return fmt.Errorf("tolerationSeconds goes with effect NoExecute only")
	}
	return nil
}

// nodeAffinity turns the terms into required terms, or preferred ones when weighted.
func (b *builder) nodeAffinity() error {
	var required []corev1.NodeSelectorTerm
	var preferred []corev1.PreferredSchedulingTerm
	for i, t := range b.cfg.NodeAffinity {
		f := b.field("nodeAffinity[%d]", i)
		if t.NodeAffinityJSON != nil {
			f += ".nodeAffinityJson"
			v, skip, err := b.jsonParam(f, t.NodeAffinityJSON)
			if err != nil {
				return err
			}
			if skip {
				continue
			}
			var na corev1.NodeAffinity
			if err := decodeStrict(v, &na); err != nil {
				return b.errf(f, "not a node affinity: %v", err)
			}
			if r := na.RequiredDuringSchedulingIgnoredDuringExecution; r != nil {
				required = append(required, r.NodeSelectorTerms...)
			}
			preferred = append(preferred, na.PreferredDuringSchedulingIgnoredDuringExecution...)
			continue
		}
		if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
			continue // KFP skips an empty term
		}
		var term corev1.NodeSelectorTerm
		for j, r := range t.MatchExpressions {
			req, err := nodeRequirement(r)
			if err != nil {
				return b.errf(fmt.Sprintf("%s.matchExpressions[%d]", f, j), "%v", err)
			}
			term.MatchExpressions = append(term.MatchExpressions, req)
		}
		for j, r := range t.MatchFields {
			req, err := nodeRequirement(r)
			if err != nil {
				return b.errf(fmt.Sprintf("%s.matchFields[%d]", f, j), "%v", err)
			}
			term.MatchFields = append(term.MatchFields, req)
		}
		if t.Weight == nil {
			required = append(required, term)
			continue
		}
		if w := *t.Weight; w < 1 || w > 100 {
			return b.errf(f+".weight", "%d: want 1 to 100", w)
		}
		preferred = append(preferred, corev1.PreferredSchedulingTerm{Weight: *t.Weight, Preference: term})
	}
	if len(required) == 0 && len(preferred) == 0 {
		return nil
	}
	na := &corev1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: preferred}
	if len(required) > 0 {
		na.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{NodeSelectorTerms: required}
	}
	b.affinity().NodeAffinity = na
	return nil
}

// affinity is the pod's affinity, made on first use.
func (b *builder) affinity() *corev1.Affinity {
	if b.pod.Spec.Affinity == nil {
		b.pod.Spec.Affinity = &corev1.Affinity{}
	}
	return b.pod.Spec.Affinity
}

func nodeRequirement(r ir.SelectorRequirement) (corev1.NodeSelectorRequirement, error) {
	op := corev1.NodeSelectorOperator(r.Operator)
	switch op {
	case corev1.NodeSelectorOpIn, corev1.NodeSelectorOpNotIn:
		if len(r.Values) == 0 {
			return corev1.NodeSelectorRequirement{}, fmt.Errorf("operator %s needs values", op)
		}
	case corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist:
		if len(r.Values) > 0 {
			return corev1.NodeSelectorRequirement{}, fmt.Errorf("operator %s takes no values", op)
		}
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
		if len(r.Values) != 1 {
			return corev1.NodeSelectorRequirement{}, fmt.Errorf("operator %s takes one value", op)
		}
	default:
		return corev1.NodeSelectorRequirement{}, fmt.Errorf("operator %q: want In, NotIn, Exists, DoesNotExist, Gt or Lt", r.Operator)
	}
	if r.Key == "" {
		return corev1.NodeSelectorRequirement{}, fmt.Errorf("no key")
	}
	return corev1.NodeSelectorRequirement{Key: r.Key, Operator: op, Values: slices.Clone(r.Values)}, nil
}

// podAffinityTerm is kfp-kubernetes' PodAffinityTerm (add_pod_affinity / anti-affinity).
type podAffinityTerm struct {
	MatchPodExpressions       []ir.SelectorRequirement `json:"matchPodExpressions"`
	MatchPodLabels            map[string]string        `json:"matchPodLabels"`
	TopologyKey               string                   `json:"topologyKey"`
	Namespaces                []string                 `json:"namespaces"`
	MatchNamespaceExpressions []ir.SelectorRequirement `json:"matchNamespaceExpressions"`
	MatchNamespaceLabels      map[string]string        `json:"matchNamespaceLabels"`
	Weight                    *int32                   `json:"weight"`
	Anti                      *bool                    `json:"anti"`
}

// podAffinity adds pod (anti-)affinity terms: required, or preferred when weighted.
func (b *builder) podAffinity() error {
	for i, raw := range b.cfg.PodAffinity {
		f := b.field("podAffinity[%d]", i)
		var t podAffinityTerm
		if err := decodeStrict(raw, &t); err != nil {
			return b.errf(f, "not a kfp-kubernetes pod affinity term: %v", err)
		}
		if t.TopologyKey == "" {
			return b.errf(f+".topologyKey", "a pod affinity term needs a topology key")
		}
		if errs := content.IsLabelKey(t.TopologyKey); len(errs) > 0 {
			return b.errf(f+".topologyKey", "%q: %s", t.TopologyKey, strings.Join(errs, "; "))
		}
		pods, err := labelSelector(t.MatchPodLabels, t.MatchPodExpressions)
		if err != nil {
			return b.errf(f+".matchPodExpressions", "%v", err)
		}
		nss, err := labelSelector(t.MatchNamespaceLabels, t.MatchNamespaceExpressions)
		if err != nil {
			return b.errf(f+".matchNamespaceExpressions", "%v", err)
		}
		for j, ns := range t.Namespaces {
			if errs := content.IsDNS1123Label(ns); len(errs) > 0 {
				return b.errf(fmt.Sprintf("%s.namespaces[%d]", f, j), "%q: %s", ns, strings.Join(errs, "; "))
			}
		}
		term := corev1.PodAffinityTerm{LabelSelector: pods, Namespaces: t.Namespaces, NamespaceSelector: nss, TopologyKey: t.TopologyKey}
		var required *[]corev1.PodAffinityTerm
		var preferred *[]corev1.WeightedPodAffinityTerm
		if ptr.Deref(t.Anti, false) {
			a := b.affinity()
			if a.PodAntiAffinity == nil {
				a.PodAntiAffinity = &corev1.PodAntiAffinity{}
			}
			required, preferred = &a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, &a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution
		} else {
			a := b.affinity()
			if a.PodAffinity == nil {
				a.PodAffinity = &corev1.PodAffinity{}
			}
			required, preferred = &a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, &a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution
		}
		if t.Weight == nil {
			*required = append(*required, term)
			continue
		}
		if w := *t.Weight; w < 1 || w > 100 {
			return b.errf(f+".weight", "%d: want 1 to 100", w)
		}
		*preferred = append(*preferred, corev1.WeightedPodAffinityTerm{Weight: *t.Weight, PodAffinityTerm: term})
	}
	return nil
}

// labelSelector is the selector of labels and expressions; nil when both are empty.
func labelSelector(labels map[string]string, exprs []ir.SelectorRequirement) (*metav1.LabelSelector, error) {
	if len(labels) == 0 && len(exprs) == 0 {
		return nil, nil
	}
	if err := checkLabels(labels); err != nil {
		return nil, err
	}
	sel := &metav1.LabelSelector{MatchLabels: copyMap(labels)}
	for _, e := range exprs {
		op := metav1.LabelSelectorOperator(e.Operator)
		switch op {
		case metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn:
			if len(e.Values) == 0 {
				return nil, fmt.Errorf("operator %s needs values", op)
			}
		case metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist:
			if len(e.Values) > 0 {
				return nil, fmt.Errorf("operator %s takes no values", op)
			}
		default:
			return nil, fmt.Errorf("operator %q: want In, NotIn, Exists or DoesNotExist", e.Operator)
		}
		if errs := content.IsLabelKey(e.Key); len(errs) > 0 {
			return nil, fmt.Errorf("key %q: %s", e.Key, strings.Join(errs, "; "))
		}
		sel.MatchExpressions = append(sel.MatchExpressions, metav1.LabelSelectorRequirement{Key: e.Key, Operator: op, Values: slices.Clone(e.Values)})
	}
	return sel, nil
}
