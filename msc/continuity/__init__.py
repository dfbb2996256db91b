"""Along the route: a person's record moves to the centre that serves them now, on their proof and consent."""
