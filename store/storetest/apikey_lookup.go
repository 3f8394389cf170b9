package storetest

import "testing"

// testAPIKeyOf checks that APIKeyOf finds the current key of a seller and never creates one: not for a
// seller without a key, an affiliate or an unknown user.
func testAPIKeyOf(t *testing.T, open Open) {
	f := newFixture(t, open)
	f.user(t, 1, "Affiliate")
	f.seller(t, 2, "Toko")
	for _, id := range []int64{1, 2, 99} {
		if key, ok, err := f.s.APIKeyOf(t.Context(), id); err != nil || ok || key != "" {
			t.Fatalf("api key of %d before any key: %q %v %v", id, key, ok, err)
		}
	}
	key, err := f.s.APIKey(t.Context(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok, err := f.s.APIKeyOf(t.Context(), 2); err != nil || !ok || got != key {
		t.Fatalf("api key of 2: %q %v %v, want %q", got, ok, err, key)
	}
	rotated, err := f.s.RotateAPIKey(t.Context(), 2)
	if err != nil {
		t.Fatal(err)
	}
	f.restart(t)
	if got, ok, err := f.s.APIKeyOf(t.Context(), 2); err != nil || !ok || got != rotated {
		t.Fatalf("api key of 2 after rotation and restart: %q %v %v, want %q", got, ok, err, rotated)
	}
	if _, ok, _ := f.s.APIKeyOf(t.Context(), 1); ok {
		t.Fatal("an affiliate got a key")
	}
}
