"""Learning-to-rank of trainees for job orders (DESIGN §5)."""
