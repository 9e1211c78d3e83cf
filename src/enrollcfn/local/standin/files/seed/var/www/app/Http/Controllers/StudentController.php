<?php

namespace App\Http\Controllers;

use Illuminate\Support\Facades\DB;
use Illuminate\Support\Facades\Log;

class StudentController extends Controller
{
    /**
     * The number of students, with what the database says of this connection: its TLS cipher
     * (empty without TLS) and the account it authenticated as.
     */
    public function count()
    {
        $students = DB::table('students')->count();
        $cipher = DB::selectOne("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
        $user = DB::selectOne('SELECT CURRENT_USER() AS user');

        $body = [
            'students' => $students,
            'ssl_cipher' => $cipher ? $cipher->Value : '',
            'db_user' => $user->user,
        ];
        Log::info('students counted', $body);

        return response()->json($body);
    }
}
