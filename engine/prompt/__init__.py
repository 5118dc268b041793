"""What the model is shown and asked: the prompt, its images and where they sit on the map."""
