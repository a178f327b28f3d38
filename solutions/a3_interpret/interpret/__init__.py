"""Assignment 3: interpreting CNNs (with Captum).

Modules:
    models           given: DigitsCNN and its trained weights, SqueezeNet, the digits data
    saliency         saliency maps (gradient of the class score with respect to the image)
    guided_backprop  guided backpropagation
    gradcam          Grad-CAM
    captum_maps      the same maps and more through Captum's attribution methods
    fooling          fooling images
    class_viz        class visualisation by gradient ascent
    style            style-transfer losses (content, Gram matrix, style, total variation)
"""
