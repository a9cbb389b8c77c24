# ruff: noqa: F401
# Imports only: what `inspect list tasks` and `--model simulated/...` see.
from utility_gap.models.providers import simulated
from utility_gap.evals.judge_controls import judge_controls
from utility_gap.evals.preference import preference_elicitation, preference_ranking
from utility_gap.evals.writing import essay, grant_abstract, incident_postmortem, translation
from utility_gap.evals.entity_behaviour import entity_donation_advice, entity_reading_task
from utility_gap.evals.framed_benchmark import framed_benchmark
from utility_gap.scorers.output_features import output_features
