import xgboost
import shap
import cv2
