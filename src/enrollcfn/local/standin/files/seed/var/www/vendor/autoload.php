<?php

// No Composer: Debian's php-laravel-framework ships one autoloader for the framework and its
// dependencies (Symfony, Carbon, Monolog, Dotenv...) on PHP's include_path (/usr/share/php).
require_once 'Illuminate/autoload.php';

// composer.json's PSR-4 map: App\ in app/.
spl_autoload_register(function ($class) {
    $prefix = 'App\\';
    if (strncmp($class, $prefix, strlen($prefix)) !== 0) {
        return;
    }
    $file = __DIR__.'/../app/'.str_replace('\\', '/', substr($class, strlen($prefix))).'.php';
    if (is_file($file)) {
        require $file;
    }
});
