#!/bin/bash
# Serves only: migrations run as their own one-off task, .env is not written (the task's
# environment and secrets configure the app), and nginx replaces the shell so it gets the
# task's signals.
set -e

cd /var/www

php-fpm -D

exec nginx -e stderr -g 'daemon off;'
