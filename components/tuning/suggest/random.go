package suggest

func init() { register("random", func() Algorithm { return random{} }) }

// maxRedraws bounds how often a sampler draws again to keep one call's suggestions
// distinct; a space with fewer points than the request repeats some.
const maxRedraws = 32

// random is Katib's "random": every parameter drawn independently from its prior
// (uniform, logUniform, or normal and logNormal truncated to the range).
type random struct{}

// Settings lists random's one setting, upstream's random_state.
func (random) Settings() []Setting {
	return []Setting{{Name: "random_state", Help: "seed of the random draws (a whole number ≥ 0); unset, the trial names seed them"}}
}

// Validate checks random_state.
func (random) Validate(_ Space, settings map[string]string) error {
	_, _, err := Seed(settings)
	return err
}

// Suggest draws req.Count assignments, distinct from each other where the space allows.
func (random) Suggest(req Request) ([]Suggestion, error) {
	if _, _, err := Seed(req.Settings); err != nil {
		return nil, err
	}
	axes := axesOf(req.Space)
	r := RNG(req, "random")
	seen := map[string]bool{}
	var out []Suggestion
	for range req.Count {
		var asg map[string]string
		for range maxRedraws {
			asg = sampleAssignment(axes, r)
			if !seen[assignmentKey(axes, asg)] {
				break
			}
		}
		seen[assignmentKey(axes, asg)] = true
		out = append(out, Suggestion{Assignments: asg})
	}
	return out, nil
}
