"""i2i app"""
