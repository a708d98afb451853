package ir

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Validate reports what stops p from running, each problem with its YAML path and task:
// an unknown schemaVersion, references to components, executors, tasks, inputs or
// outputs that do not exist, required inputs left unset, producer/consumer type
// mismatches, cycles, unknown placeholders, and conditions kfup cannot evaluate.
func Validate(p *Pipeline) Problems {
	v := &validator{p: p, spec: &p.Spec}
	v.run()
	return v.ps
}

type validator struct {
	collector
	p    *Pipeline
	spec *PipelineSpec
}

func (v *validator) run() {
	s := v.spec
	switch {
	case s.SchemaVersion == "":
		v.errorf("schemaVersion", "", "missing: kfup runs PipelineSpec schemaVersion %s", strings.Join(SchemaVersions, " or "))
	case !slices.Contains(SchemaVersions, s.SchemaVersion):
		v.errorf("schemaVersion", "", "unknown schemaVersion %q: kfup runs %s (compile with kfp 2.x)", s.SchemaVersion, strings.Join(SchemaVersions, " or "))
	}
	if s.PipelineInfo.Name == "" {
		v.errorf("pipelineInfo.name", "", "missing: a pipeline needs a name")
	}
	if s.Root == nil {
		v.errorf("root", "", "missing: the pipeline has no root DAG")
	} else {
		if s.Root.DAG == nil {
			v.errorf("root.dag", "", "missing: the root component must be a DAG")
		}
		v.component("root", "", s.Root)
	}
	for _, name := range sortedKeys(s.Components) {
		c := s.Components[name]
		v.component("components."+name, name, &c)
	}
	for _, label := range sortedKeys(s.DeploymentSpec.Executors) {
		v.executor(label)
	}
	v.platform()
}

// component checks one component's interface and implementation.
func (v *validator) component(path, name string, c *ComponentSpec) {
	if c.DAG != nil && c.ExecutorLabel != "" {
		v.errorf(path, "", "has both dag and executorLabel: a component is one or the other")
	}
	if c.DAG == nil && c.ExecutorLabel == "" && path != "root" {
		v.errorf(path, "", "has neither dag nor executorLabel")
	}
	if c.ExecutorLabel != "" {
		if _, ok := v.spec.DeploymentSpec.Executors[c.ExecutorLabel]; !ok {
			v.errorf(path+".executorLabel", "", "executor %q does not exist in deploymentSpec.executors", c.ExecutorLabel)
		}
	}
	if in := c.InputDefinitions; in != nil {
		for _, k := range sortedKeys(in.Parameters) {
			d := in.Parameters[k]
			p := path + ".inputDefinitions.parameters." + k
			v.paramType(p, d.ParameterType, d.Type)
			if d.DefaultValue != nil && d.ParameterType.Known() && !ValueHasType(d.DefaultValue, d.ParameterType) {
				v.errorf(p+".defaultValue", "", "default %s is not a %s", short(d.DefaultValue), d.ParameterType)
			}
		}
		for _, k := range sortedKeys(in.Artifacts) {
			v.artifactType(path+".inputDefinitions.artifacts."+k+".artifactType", in.Artifacts[k].ArtifactType)
		}
	}
	if out := c.OutputDefinitions; out != nil {
		for _, k := range sortedKeys(out.Parameters) {
			d := out.Parameters[k]
			v.paramType(path+".outputDefinitions.parameters."+k, d.ParameterType, d.Type)
		}
		for _, k := range sortedKeys(out.Artifacts) {
			v.artifactType(path+".outputDefinitions.artifacts."+k+".artifactType", out.Artifacts[k].ArtifactType)
		}
	}
	if c.DAG != nil {
		v.dag(path, c)
	}
}

func (v *validator) paramType(path string, t ParameterType, deprecated string) {
	switch {
	case t == "" && deprecated == "":
		v.errorf(path+".parameterType", "", "missing: want one of NUMBER_DOUBLE, NUMBER_INTEGER, STRING, BOOLEAN, LIST, STRUCT, TASK_FINAL_STATUS")
	case t != "" && !t.Known():
		v.errorf(path+".parameterType", "", "unknown parameterType %q: want one of NUMBER_DOUBLE, NUMBER_INTEGER, STRING, BOOLEAN, LIST, STRUCT, TASK_FINAL_STATUS", t)
	}
}

func (v *validator) artifactType(path string, t ArtifactType) {
	if t.SchemaTitle == "" && t.InstanceSchema == "" && t.SchemaURI == "" {
		v.errorf(path+".schemaTitle", "", "missing: an artifact needs a type (system.Artifact, system.Dataset, system.Model, ...)")
	}
}

// dag checks the tasks of DAG component c (at path) and its outputs.
func (v *validator) dag(path string, c *ComponentSpec) {
	tasks := c.DAG.Tasks
	if len(tasks) == 0 {
		v.errorf(path+".dag.tasks", "", "the DAG has no tasks")
	}
	for _, name := range sortedKeys(tasks) {
		t := tasks[name]
		v.task(path+".dag.tasks."+name, name, c, tasks, &t)
	}
	v.cycles(path, tasks)
	v.dagOutputs(path, c)
}

// childOf returns the component a task refers to, or nil.
func (v *validator) childOf(t *TaskSpec) *ComponentSpec {
	if c, ok := v.spec.Components[t.ComponentRef.Name]; ok {
		return &c
	}
	return nil
}

func (v *validator) task(path, name string, parent *ComponentSpec, siblings map[string]TaskSpec, t *TaskSpec) {
	var child *ComponentSpec
	switch {
	case t.ComponentRef.Name == "":
		v.errorf(path+".componentRef.name", name, "missing: a task must name its component")
	default:
		if child = v.childOf(t); child == nil {
			v.errorf(path+".componentRef.name", name, "component %q does not exist in components", t.ComponentRef.Name)
		}
	}
	for i, d := range t.DependentTasks {
		switch _, ok := siblings[d]; {
		case d == name:
			v.errorf(fmt.Sprintf("%s.dependentTasks[%d]", path, i), name, "the task depends on itself")
		case !ok:
			v.errorf(fmt.Sprintf("%s.dependentTasks[%d]", path, i), name, "task %q does not exist in this DAG", d)
		}
	}
	var inputs TaskInputs
	if t.Inputs != nil {
		inputs = *t.Inputs
	}
	childIn := ComponentInputs{}
	if child != nil && child.InputDefinitions != nil {
		childIn = *child.InputDefinitions
	}
	parentIn := ComponentInputs{}
	if parent.InputDefinitions != nil {
		parentIn = *parent.InputDefinitions
	}
	itemParam, itemArtifact := "", ""
	if t.ParameterIterator != nil {
		itemParam = t.ParameterIterator.ItemInput
	}
	if t.ArtifactIterator != nil {
		itemArtifact = t.ArtifactIterator.ItemInput
	}

	for _, k := range sortedKeys(inputs.Parameters) {
		in := inputs.Parameters[k]
		p := path + ".inputs.parameters." + k
		def, declared := childIn.Parameters[k]
		if child != nil && !declared && !strings.HasPrefix(k, "pipelinechannel--") {
			v.errorf(p, name, "component %q has no input parameter %q", t.ComponentRef.Name, k)
		}
		kinds := 0
		for _, set := range []bool{in.TaskOutputParameter != nil, in.RuntimeValue != nil, in.ComponentInputParameter != "", in.TaskFinalStatus != nil} {
			if set {
				kinds++
			}
		}
		if kinds != 1 {
			v.errorf(p, name, "set exactly one of taskOutputParameter, runtimeValue, componentInputParameter, taskFinalStatus (%d set)", kinds)
			continue
		}
		want := def.ParameterType
		if !declared || in.ParameterExpressionSelector != "" {
			want = "" // the selector changes the type; undeclared channels are untyped
		}
		switch {
		case in.ComponentInputParameter != "":
			src, ok := parentIn.Parameters[in.ComponentInputParameter]
			if !ok {
				v.errorf(p+".componentInputParameter", name, "the enclosing component has no input parameter %q", in.ComponentInputParameter)
			} else if !paramCompatible(src.ParameterType, want) {
				v.errorf(p+".componentInputParameter", name, "type mismatch: %q is %s, input %q wants %s", in.ComponentInputParameter, src.ParameterType, k, want)
			}
		case in.TaskOutputParameter != nil:
			v.taskOutputParam(p+".taskOutputParameter", name, k, want, siblings, in.TaskOutputParameter)
		case in.RuntimeValue != nil:
			rv := in.RuntimeValue
			val := rv.Constant
			if val == nil {
				val = rv.ConstantValue
			}
			if rv.RuntimeParameter != "" {
				if _, ok := parentIn.Parameters[rv.RuntimeParameter]; !ok {
					v.errorf(p+".runtimeValue.runtimeParameter", name, "the enclosing component has no input parameter %q", rv.RuntimeParameter)
				}
			} else if val == nil {
				v.errorf(p+".runtimeValue", name, "set constant or runtimeParameter")
			} else if want != "" && !ValueHasType(val, want) {
				v.errorf(p+".runtimeValue.constant", name, "type mismatch: %s is not a %s", short(val), want)
			}
			if s, ok := val.(string); ok {
				for _, ph := range FindPlaceholders(s) {
					x, err := ParsePlaceholder(ph)
					switch {
					case err != nil:
						v.errorf(p+".runtimeValue.constant", name, "%v", err)
					case x.Kind == PHInputValue:
						if _, ok := inputs.Parameters[x.Name]; !ok {
							v.errorf(p+".runtimeValue.constant", name, "placeholder %s names an input the task does not have", ph)
						}
					case x.Kind != PHPipeline:
						v.errorf(p+".runtimeValue.constant", name, "placeholder %s cannot be used in a constant", ph)
					}
				}
			}
		case in.TaskFinalStatus != nil:
			prod := in.TaskFinalStatus.ProducerTask
			if _, ok := siblings[prod]; !ok {
				v.errorf(p+".taskFinalStatus.producerTask", name, "task %q does not exist in this DAG", prod)
			}
			if declared && def.ParameterType != TypeTaskFinalStatus {
				v.errorf(p+".taskFinalStatus", name, "type mismatch: input %q is %s, a final status needs TASK_FINAL_STATUS", k, def.ParameterType)
			}
		}
	}
	for _, k := range sortedKeys(inputs.Artifacts) {
		in := inputs.Artifacts[k]
		p := path + ".inputs.artifacts." + k
		def, declared := childIn.Artifacts[k]
		if child != nil && !declared && !strings.HasPrefix(k, "pipelinechannel--") {
			v.errorf(p, name, "component %q has no input artifact %q", t.ComponentRef.Name, k)
		}
		switch {
		case (in.TaskOutputArtifact != nil) == (in.ComponentInputArtifact != ""):
			v.errorf(p, name, "set exactly one of taskOutputArtifact and componentInputArtifact")
		case in.ComponentInputArtifact != "":
			src, ok := parentIn.Artifacts[in.ComponentInputArtifact]
			if !ok {
				v.errorf(p+".componentInputArtifact", name, "the enclosing component has no input artifact %q", in.ComponentInputArtifact)
			} else if declared && !artifactCompatible(src.ArtifactType, def.ArtifactType) {
				v.errorf(p+".componentInputArtifact", name, "type mismatch: %q is %s, input %q wants %s", in.ComponentInputArtifact, src.ArtifactType.SchemaTitle, k, def.ArtifactType.SchemaTitle)
			}
		default:
			toa := in.TaskOutputArtifact
			prod, ok := siblings[toa.ProducerTask]
			if !ok {
				v.errorf(p+".taskOutputArtifact.producerTask", name, "task %q does not exist in this DAG", toa.ProducerTask)
				break
			}
			pc := v.childOf(&prod)
			if pc == nil {
				break // reported on the producer
			}
			var out OutputArtifactDef
			found := false
			if pc.OutputDefinitions != nil {
				out, found = pc.OutputDefinitions.Artifacts[toa.OutputArtifactKey]
			}
			if !found {
				v.errorf(p+".taskOutputArtifact.outputArtifactKey", name, "task %q (component %q) has no output artifact %q", toa.ProducerTask, prod.ComponentRef.Name, toa.OutputArtifactKey)
			} else if declared && !artifactCompatible(out.ArtifactType, def.ArtifactType) {
				v.errorf(p+".taskOutputArtifact", name, "type mismatch: %s.%s is %s, input %q wants %s", toa.ProducerTask, toa.OutputArtifactKey, out.ArtifactType.SchemaTitle, k, def.ArtifactType.SchemaTitle)
			}
		}
	}
	if child != nil {
		for _, k := range sortedKeys(childIn.Parameters) {
			d := childIn.Parameters[k]
			if _, set := inputs.Parameters[k]; !set && !d.IsOptional && d.DefaultValue == nil && k != itemParam {
				v.errorf(path+".inputs.parameters", name, "missing required input parameter %q of component %q", k, t.ComponentRef.Name)
			}
		}
		for _, k := range sortedKeys(childIn.Artifacts) {
			if _, set := inputs.Artifacts[k]; !set && !childIn.Artifacts[k].IsOptional && k != itemArtifact {
				v.errorf(path+".inputs.artifacts", name, "missing required input artifact %q of component %q", k, t.ComponentRef.Name)
			}
		}
	}
	v.iterators(path, name, t, inputs, childIn, child != nil)
	if tp := t.TriggerPolicy; tp != nil {
		switch tp.Strategy {
		case "", StrategyUnspecified, StrategyAllUpstreamSucceeded, StrategyAllUpstreamCompleted:
		default:
			v.errorf(path+".triggerPolicy.strategy", name, "unknown strategy %q: want ALL_UPSTREAM_TASKS_SUCCEEDED or ALL_UPSTREAM_TASKS_COMPLETED", tp.Strategy)
		}
		if tp.Condition != "" {
			cond, err := ParseCondition(tp.Condition)
			if err != nil {
				v.errorf(path+".triggerPolicy.condition", name, "%v", err)
			} else {
				for _, prm := range cond.Params() {
					if _, ok := inputs.Parameters[prm]; !ok {
						v.errorf(path+".triggerPolicy.condition", name, "reads input parameter %q, which the task does not have", prm)
					}
				}
			}
		}
	}
	if rp := t.RetryPolicy; rp != nil {
		if rp.MaxRetryCount < 0 {
			v.errorf(path+".retryPolicy.maxRetryCount", name, "must not be negative")
		}
		if rp.BackoffFactor < 0 {
			v.errorf(path+".retryPolicy.backoffFactor", name, "must not be negative")
		}
		for field, d := range map[string]string{"backoffDuration": rp.BackoffDuration, "backoffMaxDuration": rp.BackoffMaxDuration} {
			if d == "" {
				continue
			}
			if x, err := time.ParseDuration(d); err != nil || x < 0 {
				v.errorf(path+".retryPolicy."+field, name, "%q is not a duration like \"30s\"", d)
			}
		}
	}
}

func (v *validator) taskOutputParam(path, task, input string, want ParameterType, siblings map[string]TaskSpec, ref *TaskOutputParameter) {
	prod, ok := siblings[ref.ProducerTask]
	if !ok {
		v.errorf(path+".producerTask", task, "task %q does not exist in this DAG", ref.ProducerTask)
		return
	}
	pc := v.childOf(&prod)
	if pc == nil {
		return // reported on the producer
	}
	var out OutputParameterDef
	found := false
	if pc.OutputDefinitions != nil {
		out, found = pc.OutputDefinitions.Parameters[ref.OutputParameterKey]
	}
	switch {
	case !found:
		v.errorf(path+".outputParameterKey", task, "task %q (component %q) has no output parameter %q", ref.ProducerTask, prod.ComponentRef.Name, ref.OutputParameterKey)
	case !paramCompatible(out.ParameterType, want):
		v.errorf(path, task, "type mismatch: %s.%s is %s, input %q wants %s", ref.ProducerTask, ref.OutputParameterKey, out.ParameterType, input, want)
	}
}

func (v *validator) iterators(path, name string, t *TaskSpec, inputs TaskInputs, childIn ComponentInputs, haveChild bool) {
	if t.ParameterIterator != nil && t.ArtifactIterator != nil {
		v.errorf(path, name, "set at most one of parameterIterator and artifactIterator")
	}
	if it := t.ParameterIterator; it != nil {
		p := path + ".parameterIterator"
		switch {
		case (it.Items.Raw == "") == (it.Items.InputParameter == ""):
			v.errorf(p+".items", name, "set exactly one of raw and inputParameter")
		case it.Items.Raw != "":
			var l []any
			if err := json.Unmarshal([]byte(it.Items.Raw), &l); err != nil {
				v.errorf(p+".items.raw", name, "not a JSON list: %v", err)
			}
		default:
			if _, ok := inputs.Parameters[it.Items.InputParameter]; !ok {
				v.errorf(p+".items.inputParameter", name, "the task has no input parameter %q to iterate over", it.Items.InputParameter)
			}
		}
		if it.ItemInput == "" {
			v.errorf(p+".itemInput", name, "missing: name the input that receives each item")
		} else if _, ok := childIn.Parameters[it.ItemInput]; haveChild && !ok {
			v.errorf(p+".itemInput", name, "component %q has no input parameter %q", t.ComponentRef.Name, it.ItemInput)
		}
	}
	if it := t.ArtifactIterator; it != nil {
		p := path + ".artifactIterator"
		if _, ok := inputs.Artifacts[it.Items.InputArtifact]; !ok {
			v.errorf(p+".items.inputArtifact", name, "the task has no input artifact %q to iterate over", it.Items.InputArtifact)
		}
		if _, ok := childIn.Artifacts[it.ItemInput]; haveChild && !ok {
			v.errorf(p+".itemInput", name, "component %q has no input artifact %q", t.ComponentRef.Name, it.ItemInput)
		}
	}
	if t.IteratorPolicy != nil {
		if t.IteratorPolicy.ParallelismLimit < 0 {
			v.errorf(path+".iteratorPolicy.parallelismLimit", name, "must not be negative")
		}
		if t.ParameterIterator == nil && t.ArtifactIterator == nil {
			v.errorf(path+".iteratorPolicy", name, "the task has no iterator to limit")
		}
	}
}

// Upstream returns the tasks t waits for: its dependentTasks and the producers of its
// inputs, sorted and without duplicates.
func Upstream(t *TaskSpec) []string {
	set := map[string]bool{}
	for _, d := range t.DependentTasks {
		set[d] = true
	}
	if t.Inputs != nil {
		for _, in := range t.Inputs.Parameters {
			if in.TaskOutputParameter != nil {
				set[in.TaskOutputParameter.ProducerTask] = true
			}
			if in.TaskFinalStatus != nil {
				set[in.TaskFinalStatus.ProducerTask] = true
			}
		}
		for _, in := range t.Inputs.Artifacts {
			if in.TaskOutputArtifact != nil {
				set[in.TaskOutputArtifact.ProducerTask] = true
			}
		}
	}
	return sortedKeys(set)
}

// cycles reports each cycle among tasks once, naming its tasks in order.
func (v *validator) cycles(path string, tasks map[string]TaskSpec) {
	const (
		unseen = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(n string)
	visit = func(n string) {
		state[n] = active
		stack = append(stack, n)
		t := tasks[n]
		for _, d := range Upstream(&t) {
			if _, ok := tasks[d]; !ok || d == n {
				continue // reported as a missing task or a self-dependency
			}
			switch state[d] {
			case unseen:
				visit(d)
			case active:
				i := slices.Index(stack, d)
				cyc := append(slices.Clone(stack[i:]), d)
				slices.Reverse(cyc) // upstream first: a runs before b before ...
				v.errorf(path+".dag.tasks."+d+".dependentTasks", d, "tasks depend on each other in a cycle: %s", strings.Join(cyc, " → "))
			}
		}
		stack = stack[:len(stack)-1]
		state[n] = done
	}
	for _, n := range sortedKeys(tasks) {
		if state[n] == unseen {
			visit(n)
		}
	}
}

func (v *validator) dagOutputs(path string, c *ComponentSpec) {
	var outs DAGOutputs
	if c.DAG.Outputs != nil {
		outs = *c.DAG.Outputs
	}
	var decl ComponentOutputs
	if c.OutputDefinitions != nil {
		decl = *c.OutputDefinitions
	}
	tasks := c.DAG.Tasks
	for _, k := range sortedKeys(outs.Parameters) {
		o := outs.Parameters[k]
		p := path + ".dag.outputs.parameters." + k
		d, ok := decl.Parameters[k]
		if !ok {
			v.errorf(p, "", "output parameter %q is not declared in outputDefinitions", k)
		}
		var sels []ParameterSelector
		switch {
		case (o.ValueFromParameter == nil) == (o.ValueFromOneof == nil):
			v.errorf(p, "", "set exactly one of valueFromParameter and valueFromOneof")
		case o.ValueFromParameter != nil:
			sels = []ParameterSelector{*o.ValueFromParameter}
		default:
			sels = o.ValueFromOneof.ParameterSelectors
		}
		for _, s := range sels {
			t, ok := tasks[s.ProducerSubtask]
			if !ok {
				v.errorf(p, "", "producerSubtask %q does not exist in this DAG", s.ProducerSubtask)
				continue
			}
			pc := v.childOf(&t)
			if pc == nil {
				continue
			}
			var od OutputParameterDef
			found := false
			if pc.OutputDefinitions != nil {
				od, found = pc.OutputDefinitions.Parameters[s.OutputParameterKey]
			}
			switch {
			case !found:
				v.errorf(p, s.ProducerSubtask, "task %q (component %q) has no output parameter %q", s.ProducerSubtask, t.ComponentRef.Name, s.OutputParameterKey)
			case ok && d.ParameterType == TypeList && od.ParameterType != TypeList:
				// fan-in: an iterated DAG collects its subtask's values into a list
			case ok && !paramCompatible(od.ParameterType, d.ParameterType):
				v.errorf(p, s.ProducerSubtask, "type mismatch: %s.%s is %s, the DAG output is %s", s.ProducerSubtask, s.OutputParameterKey, od.ParameterType, d.ParameterType)
			}
		}
	}
	for _, k := range sortedKeys(outs.Artifacts) {
		p := path + ".dag.outputs.artifacts." + k
		if _, ok := decl.Artifacts[k]; !ok {
			v.errorf(p, "", "output artifact %q is not declared in outputDefinitions", k)
		}
		for _, s := range outs.Artifacts[k].ArtifactSelectors {
			t, ok := tasks[s.ProducerSubtask]
			if !ok {
				v.errorf(p, "", "producerSubtask %q does not exist in this DAG", s.ProducerSubtask)
				continue
			}
			if pc := v.childOf(&t); pc != nil {
				if pc.OutputDefinitions == nil || pc.OutputDefinitions.Artifacts[s.OutputArtifactKey].ArtifactType == (ArtifactType{}) {
					v.errorf(p, s.ProducerSubtask, "task %q (component %q) has no output artifact %q", s.ProducerSubtask, t.ComponentRef.Name, s.OutputArtifactKey)
				}
			}
		}
	}
	for _, k := range sortedKeys(decl.Parameters) {
		if _, ok := outs.Parameters[k]; !ok {
			v.errorf(path+".outputDefinitions.parameters."+k, "", "the DAG never sets output parameter %q: map it in dag.outputs.parameters", k)
		}
	}
	for _, k := range sortedKeys(decl.Artifacts) {
		if _, ok := outs.Artifacts[k]; !ok {
			v.errorf(path+".outputDefinitions.artifacts."+k, "", "the DAG never sets output artifact %q: map it in dag.outputs.artifacts", k)
		}
	}
}

// executor checks one executor against every component that runs it.
func (v *validator) executor(label string) {
	e := v.spec.DeploymentSpec.Executors[label]
	path := "deploymentSpec.executors." + label
	n := 0
	for _, set := range []bool{e.Container != nil, e.Importer != nil, e.Resolver != nil, e.CustomJob != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		v.errorf(path, "", "set exactly one of container, importer, resolver (%d set)", n)
		return
	}
	var users []string
	for _, name := range sortedKeys(v.spec.Components) {
		if v.spec.Components[name].ExecutorLabel == label {
			users = append(users, name)
		}
	}
	switch {
	case e.CustomJob != nil:
		v.errorf(path+".customJob", "", "customJob executors run on Vertex AI only; kfup runs container and importer executors")
	case e.Resolver != nil:
		v.errorf(path+".resolver", "", "resolver executors query a metadata store, which kfup does not have; use an importer")
	case e.Importer != nil:
		v.artifactType(path+".importer.typeSchema", e.Importer.TypeSchema)
		uri := e.Importer.ArtifactURI
		if uri.RuntimeParameter == "" && uri.Constant == nil && uri.ConstantValue == nil {
			v.errorf(path+".importer.artifactUri", "", "missing: set constant or runtimeParameter")
		}
		for _, u := range users {
			c := v.spec.Components[u]
			if rp := uri.RuntimeParameter; rp != "" && (c.InputDefinitions == nil || c.InputDefinitions.Parameters[rp].ParameterType == "") {
				v.errorf(path+".importer.artifactUri.runtimeParameter", "", "component %q has no input parameter %q", u, rp)
			}
		}
	case e.Container != nil:
		c := e.Container
		if c.Image == "" {
			v.errorf(path+".container.image", "", "missing: a container executor needs an image")
		}
		for _, u := range users {
			comp := v.spec.Components[u]
			check := func(field, s string) {
				err := walkArg(s, func(str string) {
					for _, ph := range FindPlaceholders(str) {
						if msg := placeholderProblem(ph, &comp); msg != "" {
							v.errorf(field, "", "%s (component %q)", msg, u)
						}
					}
				}, func(input string) {
					if !hasInput(&comp, input) {
						v.errorf(field, "", "IfPresent names input %q, which component %q does not have", input, u)
					}
				})
				if err != nil {
					v.errorf(field, "", "%v", err)
				}
			}
			check(path+".container.image", c.Image)
			for i, s := range c.Command {
				check(fmt.Sprintf("%s.container.command[%d]", path, i), s)
			}
			for i, s := range c.Args {
				check(fmt.Sprintf("%s.container.args[%d]", path, i), s)
			}
			for i, ev := range c.Env {
				check(fmt.Sprintf("%s.container.env[%d].value", path, i), ev.Value)
			}
			if r := c.Resources; r != nil {
				for f, s := range map[string]string{"resourceCpuLimit": r.ResourceCPULimit, "resourceMemoryLimit": r.ResourceMemoryLimit, "resourceCpuRequest": r.ResourceCPURequest, "resourceMemoryRequest": r.ResourceMemoryRequest} {
					check(path+".container.resources."+f, s)
				}
			}
		}
	}
}

func hasInput(c *ComponentSpec, name string) bool {
	if c.InputDefinitions == nil {
		return false
	}
	_, p := c.InputDefinitions.Parameters[name]
	_, a := c.InputDefinitions.Artifacts[name]
	return p || a
}

// placeholderProblem says what is wrong with placeholder ph in an executor of c, or "".
func placeholderProblem(ph string, c *ComponentSpec) string {
	x, err := ParsePlaceholder(ph)
	if err != nil {
		return err.Error() + ": kfup knows {{$}}, {{$.inputs.parameters['x']}}, {{$.inputs.artifacts['x'].path|uri|metadata}}, {{$.outputs.parameters['x'].output_file}}, {{$.outputs.artifacts['x'].path|uri|metadata}}, {{$.outputs.output_file}} and {{$.pipeline_job_name}}-style values"
	}
	in, out := ComponentInputs{}, ComponentOutputs{}
	if c.InputDefinitions != nil {
		in = *c.InputDefinitions
	}
	if c.OutputDefinitions != nil {
		out = *c.OutputDefinitions
	}
	missing := func(what string, ok bool) string {
		if ok {
			return ""
		}
		return fmt.Sprintf("placeholder %s names %s %q, which the component does not declare", ph, what, x.Name)
	}
	switch x.Kind {
	case PHInputValue:
		_, ok := in.Parameters[x.Name]
		return missing("input parameter", ok)
	case PHInputPath, PHInputURI, PHInputMetadata:
		_, ok := in.Artifacts[x.Name]
		return missing("input artifact", ok)
	case PHOutputParameterFile:
		_, ok := out.Parameters[x.Name]
		return missing("output parameter", ok)
	case PHOutputPath, PHOutputURI, PHOutputMetadata:
		_, ok := out.Artifacts[x.Name]
		return missing("output artifact", ok)
	}
	return ""
}

// platform checks that the kfp-kubernetes config names executors that exist.
func (v *validator) platform() {
	if v.p.Platform == nil {
		return
	}
	for _, pname := range sortedKeys(v.p.Platform.Platforms) {
		sp := v.p.Platform.Platforms[pname]
		if pname != "kubernetes" {
			v.warnf("platformSpec.platforms."+pname, "", "kfup reads only the kubernetes platform config; %q is ignored", pname)
			continue
		}
		if sp.DeploymentSpec == nil {
			continue
		}
		for _, label := range sortedKeys(sp.DeploymentSpec.Executors) {
			if _, ok := v.spec.DeploymentSpec.Executors[label]; !ok {
				v.errorf("platformSpec.platforms.kubernetes.deploymentSpec.executors."+label, "", "executor %q does not exist in deploymentSpec.executors", label)
			}
		}
	}
}

// paramCompatible reports whether a value of type have may feed an input of type want
// (want "" is untyped). Integers widen to doubles, as the SDK allows.
func paramCompatible(have, want ParameterType) bool {
	return want == "" || have == "" || have == want || (have == TypeInteger && want == TypeDouble)
}

// artifactCompatible reports whether an artifact of type have may feed one of type want:
// the same schema title, or either is the generic system.Artifact.
func artifactCompatible(have, want ArtifactType) bool {
	h, w := have.SchemaTitle, want.SchemaTitle
	return h == "" || w == "" || h == w || h == "system.Artifact" || w == "system.Artifact"
}

// ValueHasType reports whether JSON value v is a valid value of parameter type t.
func ValueHasType(v any, t ParameterType) bool {
	switch t {
	case TypeString:
		_, ok := v.(string)
		return ok
	case TypeInteger:
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	case TypeDouble:
		_, ok := v.(float64)
		return ok
	case TypeBoolean:
		_, ok := v.(bool)
		return ok
	case TypeList:
		_, ok := v.([]any)
		return ok
	case TypeStruct:
		_, ok := v.(map[string]any)
		return ok
	}
	return true
}

func short(v any) string {
	b, _ := json.Marshal(v)
	s := string(b)
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	return s
}
