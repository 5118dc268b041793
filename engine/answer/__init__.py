"""What happens to an answer: the numbers audit, grounding boxes as map polygons, and the answers written from
the facts alone (the analytics answerer), all after (or instead of) the model."""
