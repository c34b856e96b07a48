"""The simulated A/B test of the onboarding model against the rule (``python -m bench.ab``):
simulated listeners of the synthetic world onboard through the local API, click what they are
shown with the probabilities of the world's hidden truth, and the impressions and clicks go to the
events route; ``python -m lambdas.ops.experiments report`` then gives the lift."""
