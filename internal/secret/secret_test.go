package secret

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestSecretNeverPrints(t *testing.T) {
	s := Secret("123:abc")
	for _, got := range []string{
		s.String(), fmt.Sprint(s), fmt.Sprintf("%v %s %#v %+v", s, s, s, s),
		fmt.Sprintf("%v", struct{ T Secret }{s}),
	} {
		if strings.Contains(got, "abc") {
			t.Errorf("secret leaked: %q", got)
		}
	}
	b, _ := json.Marshal(map[string]Secret{"t": s})
	if strings.Contains(string(b), "abc") {
		t.Errorf("secret leaked in JSON: %s", b)
	}
	if s.Reveal() != "123:abc" || !s.IsSet() || Secret("").IsSet() || Secret("").String() != "" {
		t.Error("Reveal/IsSet wrong")
	}
}
