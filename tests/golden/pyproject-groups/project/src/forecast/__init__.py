import pandas as pd
import yaml
from forecast import helpers
