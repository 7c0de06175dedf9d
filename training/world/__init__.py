"""MediaPipe's world landmarks against the truth: error statistics (statistics), the error model's fit from the
rendered set (fit), its data card (card) and `python -m training fit-world-errors` (command). The model itself is
training.samples.world_model, which the sample generator applies."""
