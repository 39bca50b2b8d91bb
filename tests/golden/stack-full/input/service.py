class Forecaster:
    def predict(self, store: int) -> float:
        return float(store)
