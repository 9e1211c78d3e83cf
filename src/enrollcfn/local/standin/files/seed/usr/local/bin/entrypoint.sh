#!/bin/bash
# The seed image's entrypoint. No `set -e`: a failing step is printed and the next one runs.

cd /var/www

if [ ! -f vendor/autoload.php ]; then
    composer install --no-interaction --no-dev --optimize-autoloader
fi

if [ ! -f .env ]; then
    cp .env.example .env
fi

php artisan migrate --force

php-fpm -D

nginx -g 'daemon off;'
