<?php
/*
 * The router of `php -S` for the throwaway WordPress: every request goes to WordPress's
 * front controller, as a web server's rewrite rules send it to index.php. (This stands in
 * for index.php + wp-blog-header.php + wp-load.php, which would load Debian's wp-config.php.)
 */
$_SERVER['SCRIPT_NAME'] = '/index.php';
$_SERVER['PHP_SELF']    = '/index.php';
$_SERVER['SCRIPT_FILENAME'] = __FILE__;
define( 'WP_USE_THEMES', false );
require __DIR__ . '/wp-config.php';
wp();
