package autotask

import "github.com/psasync/adsync"

// APIBudget returns the request budget as the client last knew it (the
// last ThresholdInformation read plus its own calls since), and the share
// past which it paces: adsync.APIBudgetReader, for the run's observers
// (alerts, metrics). False until a ThresholdInformation read succeeded. It
// makes no request.
func (c *Client) APIBudget() (adsync.APIBudget, bool) {
	b := c.budget
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.limit == 0 {
		return adsync.APIBudget{}, false
	}
	return adsync.APIBudget{Used: b.used, Limit: b.limit, PaceAt: b.share, StopAt: b.stop}, true
}

var _ adsync.APIBudgetReader = (*Client)(nil)
