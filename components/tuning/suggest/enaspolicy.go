package suggest

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
)

// enasPolicy is ENAS's controller (Pham et al., "Efficient Neural Architecture Search via
// Parameter Sharing", 2018) as Katib's Controller.py builds it: one LSTM cell run twice
// per layer, first to pick the layer's operation (a softmax over the operations), then,
// fed the operation's embedding, to pick its skip connections to each earlier layer (an
// attention over the earlier layers' outputs, one sigmoid-like choice each). Logits are
// divided by the temperature and squashed by tanh_const·tanh, as upstream.
//
// The forward pass records what the backward pass needs; gradients are written by hand
// (checked against finite differences in the tests) with gonum's BLAS for the products.
type enasPolicy struct {
	h, n, layers int
	temp, tanhC  float64 // 0: unset (upstream's None)
	skipTarget   float64
	w            []float64 // every weight, laid out by enasLayout
	lay          enasLayout
}

// enasLayout places each weight matrix in one flat slice (row-major), so Adam and the
// persisted state see one vector.
type enasLayout struct {
	lstm, gEmb, emb, soft, attn1, attn2, attnV, size int
}

func newEnasLayout(h, n int) enasLayout {
	var l enasLayout
	off := 0
	next := func(k int) int { o := off; off += k; return o }
	l.lstm = next(2 * h * 4 * h)
	l.gEmb = next(h)
	l.emb = next(n * h)
	l.soft = next(h * n)
	l.attn1 = next(h * h)
	l.attn2 = next(h * h)
	l.attnV = next(h)
	l.size = off
	return l
}

// enasWeightCount is the number of weights of a controller of hidden size h over n
// operations.
func enasWeightCount(h, n int) int { return newEnasLayout(h, n).size }

func (p *enasPolicy) mat(off, rows, cols int, w []float64) blas64.General {
	return blas64.General{Rows: rows, Cols: cols, Stride: cols, Data: w[off : off+rows*cols]}
}

func bvec(x []float64) blas64.Vector { return blas64.Vector{N: len(x), Inc: 1, Data: x} }

// xW sets y = x·W (x a row vector, W rows×cols).
func xW(y, x []float64, m blas64.General) {
	blas64.Gemv(blas.Trans, 1, m, bvec(x), 0, bvec(y))
}

// backXW adds to dx the gradient of x·W given dy, and to dm (same layout) x ⊗ dy.
func backXW(dx []float64, dm blas64.General, m blas64.General, x, dy []float64) {
	if dx != nil {
		blas64.Gemv(blas.NoTrans, 1, m, bvec(dy), 1, bvec(dx))
	}
	blas64.Ger(1, bvec(x), bvec(dy), dm)
}

// squash is upstream's logits transform: /temperature, then tanh_const·tanh; its
// derivative comes back too.
func (p *enasPolicy) squash(u float64) (z, dzdu float64) {
	z, dzdu = u, 1
	if p.temp > 0 {
		z, dzdu = z/p.temp, 1/p.temp
	}
	if p.tanhC > 0 {
		t := math.Tanh(z)
		z, dzdu = p.tanhC*t, dzdu*p.tanhC*(1-t*t)
	}
	return z, dzdu
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// lstmStep is one recorded step of the cell.
type lstmStep struct {
	in               []float64 // [x, h_prev]
	i, f, o, g       []float64 // gate activations
	cPrev, c, tanhC_ []float64
	h                []float64
}

// enasArch is one architecture: per layer its operation and, for layer l, l skip bits.
type enasArch struct {
	ops   []int
	skips [][]int
}

// enasTape is one recorded pass over an architecture.
type enasTape struct {
	steps   []lstmStep // 2 per layer
	opZ     [][]float64
	opDz    [][]float64 // dz/du of each op logit
	skipQ   [][]float64 // per layer, per earlier layer: the attention's q
	skipA   [][][]float64
	skipIn  [][]float64 // the input of layer l+1's first step (skip average)
	hw      [][]float64 // each layer's h·W1
	nll     float64     // −log p(arch)
	entropy float64     // upstream's sample entropy: Σ −log p·p of each choice
	kl      float64     // upstream's skip penalty: mean over layers ≥ 1 of the KL term
	skipSum int
}

func (p *enasPolicy) lstm(x, hPrev, cPrev []float64) lstmStep {
	h := p.h
	s := lstmStep{in: make([]float64, 2*h), cPrev: cPrev}
	copy(s.in, x)
	copy(s.in[h:], hPrev)
	ifog := make([]float64, 4*h)
	xW(ifog, s.in, p.mat(p.lay.lstm, 2*h, 4*h, p.w))
	s.i, s.f, s.o, s.g = make([]float64, h), make([]float64, h), make([]float64, h), make([]float64, h)
	s.c, s.tanhC_, s.h = make([]float64, h), make([]float64, h), make([]float64, h)
	for k := 0; k < h; k++ {
		s.i[k] = sigmoid(ifog[k])
		s.f[k] = sigmoid(ifog[h+k])
		s.o[k] = sigmoid(ifog[2*h+k])
		s.g[k] = math.Tanh(ifog[3*h+k])
		s.c[k] = s.i[k]*s.g[k] + s.f[k]*cPrev[k]
		s.tanhC_[k] = math.Tanh(s.c[k])
		s.h[k] = s.o[k] * s.tanhC_[k]
	}
	return s
}

// lstmBack adds the step's weight gradient to dw and returns the gradients of its input x,
// h_prev and c_prev given those of its h and c.
func (p *enasPolicy) lstmBack(s lstmStep, dh, dc []float64, dw []float64) (dx, dhPrev, dcPrev []float64) {
	h := p.h
	dpre := make([]float64, 4*h)
	dcPrev = make([]float64, h)
	for k := 0; k < h; k++ {
		do := dh[k] * s.tanhC_[k]
		dck := dc[k] + dh[k]*s.o[k]*(1-s.tanhC_[k]*s.tanhC_[k])
		di, df, dg := dck*s.g[k], dck*s.cPrev[k], dck*s.i[k]
		dcPrev[k] = dck * s.f[k]
		dpre[k] = di * s.i[k] * (1 - s.i[k])
		dpre[h+k] = df * s.f[k] * (1 - s.f[k])
		dpre[2*h+k] = do * s.o[k] * (1 - s.o[k])
		dpre[3*h+k] = dg * (1 - s.g[k]*s.g[k])
	}
	din := make([]float64, 2*h)
	backXW(din, p.mat(p.lay.lstm, 2*h, 4*h, dw), p.mat(p.lay.lstm, 2*h, 4*h, p.w), s.in, dpre)
	return din[:h], din[h:], dcPrev
}

// softmax2 etc. are small helpers for the choices.
func softmax(z []float64) []float64 {
	m := floats.Max(z)
	out := make([]float64, len(z))
	sum := 0.0
	for i, v := range z {
		out[i] = math.Exp(v - m)
		sum += out[i]
	}
	floats.Scale(1/sum, out)
	return out
}

func draw(p []float64, r *rand.Rand) int {
	u := r.Float64()
	for i, v := range p {
		if u < v {
			return i
		}
		u -= v
	}
	return len(p) - 1
}

// run passes over the controller: with r it samples an architecture into arch (which
// must be empty), without it scores the given one. It returns the tape.
func (p *enasPolicy) run(arch *enasArch, r *rand.Rand) *enasTape {
	h, L := p.h, p.layers
	t := &enasTape{}
	hPrev, cPrev := make([]float64, h), make([]float64, h)
	x := append([]float64(nil), p.w[p.lay.gEmb:p.lay.gEmb+h]...)
	target := [2]float64{1 - p.skipTarget, p.skipTarget}
	choose := func(z []float64, fixed int) int {
		pr := softmax(z)
		c := fixed
		if r != nil {
			c = draw(pr, r)
		}
		nll := -math.Log(pr[c])
		t.nll += nll
		t.entropy += nll * pr[c]
		return c
	}
	for l := 0; l < L; l++ {
		a := p.lstm(x, hPrev, cPrev)
		t.steps = append(t.steps, a)
		u := make([]float64, p.n)
		xW(u, a.h, p.mat(p.lay.soft, h, p.n, p.w))
		z, dz := make([]float64, p.n), make([]float64, p.n)
		for k := range u {
			z[k], dz[k] = p.squash(u[k])
		}
		t.opZ, t.opDz = append(t.opZ, z), append(t.opDz, dz)
		fixed := 0
		if r == nil {
			fixed = arch.ops[l]
		}
		op := choose(z, fixed)
		if r != nil {
			arch.ops = append(arch.ops, op)
		}
		b := p.lstm(p.w[p.lay.emb+op*h:p.lay.emb+(op+1)*h], a.h, a.c)
		t.steps = append(t.steps, b)
		hPrev, cPrev = b.h, b.c
		var qs []float64
		var as [][]float64
		if l > 0 {
			qpre := make([]float64, h)
			xW(qpre, b.h, p.mat(p.lay.attn2, h, h, p.w))
			next := make([]float64, h)
			var bits []int
			if r == nil {
				bits = arch.skips[l]
			}
			count := 0
			kl := 0.0
			for j := 0; j < l; j++ {
				aj := make([]float64, h)
				for k := range aj {
					aj[k] = math.Tanh(qpre[k] + t.hw[j][k])
				}
				q := floats.Dot(aj, p.w[p.lay.attnV:p.lay.attnV+h])
				z0, _ := p.squash(-q)
				z1, _ := p.squash(q)
				fixed := 0
				if r == nil {
					fixed = bits[j]
				}
				s := choose([]float64{z0, z1}, fixed)
				if r != nil {
					bits = append(bits, s)
				}
				for k, zk := range [2]float64{z0, z1} {
					sp := sigmoid(zk)
					kl += sp * math.Log(sp/target[k])
				}
				if s == 1 {
					count++
					floats.Add(next, t.steps[2*j+1].h)
				}
				qs, as = append(qs, q), append(as, aj)
			}
			t.kl += kl
			t.skipSum += count
			floats.Scale(1/float64(1+count), next)
			x = next
			if r != nil {
				arch.skips = append(arch.skips, bits)
			}
		} else {
			x = append([]float64(nil), p.w[p.lay.gEmb:p.lay.gEmb+h]...)
			if r != nil {
				arch.skips = append(arch.skips, nil)
			}
		}
		t.skipQ, t.skipA, t.skipIn = append(t.skipQ, qs), append(t.skipA, as), append(t.skipIn, x)
		hw := make([]float64, h)
		xW(hw, b.h, p.mat(p.lay.attn1, h, h, p.w))
		t.hw = append(t.hw, hw)
	}
	if L > 1 {
		t.kl /= float64(L - 1)
	}
	return t
}

// grad adds to dw the gradient of adv·(−log p(arch)) + skipWeight·KL over the tape's
// pass (adv and skipWeight constants, as upstream's stop-gradient reward).
func (p *enasPolicy) grad(arch *enasArch, t *enasTape, adv, skipWeight float64, dw []float64) {
	h, L := p.h, p.layers
	target := [2]float64{1 - p.skipTarget, p.skipTarget}
	dhExt := make([][]float64, 2*L)
	for i := range dhExt {
		dhExt[i] = make([]float64, h)
	}
	dhw := make([][]float64, L)
	for i := range dhw {
		dhw[i] = make([]float64, h)
	}
	dhRec, dcRec := make([]float64, h), make([]float64, h)
	var dxNext []float64 // gradient of the input of layer l+1's first step
	dgEmb := dw[p.lay.gEmb : p.lay.gEmb+h]
	klScale := 0.0
	if L > 1 {
		klScale = skipWeight / float64(L-1)
	}
	for l := L - 1; l >= 0; l-- {
		b := t.steps[2*l+1]
		// hw_l = h_b·W1
		backXW(dhExt[2*l+1], p.mat(p.lay.attn1, h, h, dw), p.mat(p.lay.attn1, h, h, p.w), b.h, dhw[l])
		if l > 0 {
			count := 0
			for _, s := range arch.skips[l] {
				count += s
			}
			if dxNext != nil {
				for j := 0; j < l; j++ {
					if arch.skips[l][j] == 1 {
						floats.AddScaled(dhExt[2*j+1], 1/float64(1+count), dxNext)
					}
				}
			}
			dqpre := make([]float64, h)
			v := p.w[p.lay.attnV : p.lay.attnV+h]
			dv := dw[p.lay.attnV : p.lay.attnV+h]
			for j := 0; j < l; j++ {
				q := t.skipQ[l][j]
				z0, d0 := p.squash(-q)
				z1, d1 := p.squash(q)
				pr := softmax([]float64{z0, z1})
				dz := [2]float64{pr[0] * adv, pr[1] * adv}
				dz[arch.skips[l][j]] -= adv
				for k, zk := range [2]float64{z0, z1} {
					sp := sigmoid(zk)
					dz[k] += klScale * (math.Log(sp/target[k]) + 1) * sp * (1 - sp)
				}
				dq := -d0*dz[0] + d1*dz[1]
				aj := t.skipA[l][j]
				floats.AddScaled(dv, dq, aj)
				for k := 0; k < h; k++ {
					dpre := dq * v[k] * (1 - aj[k]*aj[k])
					dqpre[k] += dpre
					dhw[j][k] += dpre
				}
			}
			backXW(dhExt[2*l+1], p.mat(p.lay.attn2, h, h, dw), p.mat(p.lay.attn2, h, h, p.w), b.h, dqpre)
		} else if dxNext != nil {
			floats.Add(dgEmb, dxNext)
		}
		// the second step, fed the operation's embedding
		dh := make([]float64, h)
		floats.AddTo(dh, dhExt[2*l+1], dhRec)
		dx, dhp, dcp := p.lstmBack(b, dh, dcRec, dw)
		op := arch.ops[l]
		floats.Add(dw[p.lay.emb+op*h:p.lay.emb+(op+1)*h], dx)
		// the operation's choice from the first step's h
		a := t.steps[2*l]
		pr := softmax(t.opZ[l])
		du := make([]float64, p.n)
		for k := range du {
			g := pr[k] * adv
			if k == op {
				g -= adv
			}
			du[k] = g * t.opDz[l][k]
		}
		floats.Add(dhExt[2*l], dhp)
		backXW(dhExt[2*l], p.mat(p.lay.soft, h, p.n, dw), p.mat(p.lay.soft, h, p.n, p.w), a.h, du)
		dxNext, dhRec, dcRec = p.lstmBack(a, dhExt[2*l], dcp, dw)
		if l == 0 {
			floats.Add(dgEmb, dxNext)
		}
	}
}
