-- What an adjustment is: a `difference` found on a final invoice re-rated later, or a `balance` that was not
-- collected (a credit, or a total below the minimum charge) carried as it is. A final invoice is re-checked
-- against its differences only.
ALTER TABLE adjustments ADD COLUMN kind TEXT NOT NULL DEFAULT 'difference';
